"""Speak HTTP/1.1 over a plain socket, to send what client libraries refuse to and see exactly what comes back."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

READ_TIMEOUT_S = 10.0
# Bytes received after an answer (the next pipelined answer, when both came in one recv), per socket.
_UNREAD: WeakKeyDictionary[socket.socket, bytes] = WeakKeyDictionary()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    interim: list[int] = field(default_factory=list)  # 1xx statuses received before the final answer

    def json(self) -> Any:
        return json.loads(self.body)

    def diagnostics(self) -> str:
        outcome = self.json()
        assert outcome["resourceType"] == "OperationOutcome", outcome
        assert self.headers["content-type"] == "application/json"
        return str(outcome["issue"][0]["diagnostics"])


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT_S)
    return sock


def request_head(method: str, path: str, headers: dict[str, str] | list[tuple[str, str]]) -> bytes:
    pairs = list(headers.items()) if isinstance(headers, dict) else headers
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{name}: {value}" for name, value in pairs)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(body: bytes, size: int = 65536) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)]
    return b"".join(parts) + b"0\r\n\r\n"


def read_answer(sock: socket.socket) -> Answer:
    """Read one response (and any 1xx before it); the body by Content-Length. What follows it is kept for the
    next call on the same socket (pipelined answers may arrive together)."""
    buffer = _UNREAD.pop(sock, b"")
    interim: list[int] = []
    deadline = time.monotonic() + READ_TIMEOUT_S
    while True:
        while b"\r\n\r\n" not in buffer:
            assert time.monotonic() < deadline, f"no complete answer in {READ_TIMEOUT_S} s: {buffer[:200]!r}"
            data = sock.recv(65536)
            if not data:
                raise ConnectionError(f"closed before an answer: {buffer[:200]!r}")
            buffer += data
        head, buffer = buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
        if 100 <= status < 200:
            interim.append(status)
            continue
        length = int(headers.get("content-length", "0"))
        while len(buffer) < length:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("closed in the middle of the answer body")
            buffer += data
        if len(buffer) > length:
            _UNREAD[sock] = buffer[length:]
        return Answer(status, headers, buffer[:length], interim)


def exchange(port: int, data: bytes) -> Answer:
    """Send `data` on a new connection and read the answer."""
    with connect(port) as sock:
        sock.sendall(data)
        return read_answer(sock)


def closed_by_server(sock: socket.socket, within_s: float) -> bool:
    """Whether the server closes the connection (after any answer) within `within_s` seconds."""
    sock.settimeout(within_s)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True
