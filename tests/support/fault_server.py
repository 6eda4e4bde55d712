"""A small HTTP server of our own on 127.0.0.1 whose routes misbehave on purpose: slow, 500, bad JSON,
redirects, endless paging, huge bodies. It records every request (method, path, headers) so a test can
assert what reached it, for example that a token never did.

Standard library only (http.server in a daemon thread); routes are plain functions of the handler.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Route = Callable[["FaultHandler"], None]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]


class FaultHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        owner = self.server.owner
        owner.requests.append(Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
        route = owner.routes.get(urlsplit(self.path).path)
        if route is None:
            self.send_json({"resourceType": "OperationOutcome", "issue": []}, status=404)
            return
        route(self)

    def read_body(self) -> bytes:
        """The request body (routes that take a POST read it themselves)."""
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the tests assert on recorded requests instead."""

    # Helpers for routes.
    @property
    def fault(self) -> FaultServer:
        return self.server.owner

    def send_body(self, body: bytes, status: int = 200, content_type: str = "application/fhir+json",
                  headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, document: Any, status: int = 200, content_type: str = "application/fhir+json") -> None:
        self.send_body(json.dumps(document).encode(), status, content_type)

    def pause(self, seconds: float) -> None:
        """Wait, but wake at once when the server stops."""
        self.fault.stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FaultServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up on a slow route is expected here; never print it."""


class FaultServer:
    """Start with `with FaultServer() as server:`; add routes with `server.routes[path] = function`."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Recorded] = []
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), FaultHandler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.origin}{path}"

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        if self._thread.is_alive():  # shutdown() waits for serve_forever, so only after a start
            self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
