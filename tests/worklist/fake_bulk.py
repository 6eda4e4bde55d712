"""A Bulk Data server built on the project's fault server, for what sekmet cannot produce: 429 at kick-off,
a 5xx while polling, Retry-After as an HTTP date, a token that expires mid-download, gzip (as Content-Encoding
and as a .ndjson.gz body), and an error[] entry in the manifest. The token endpoint verifies the client
assertion with the client's public key, as a real one would.
"""

from __future__ import annotations

import gzip
import time
import urllib.parse
from email.utils import formatdate
from typing import Any

import jwt
import orjson

from tests.support.fault_server import FaultHandler, FaultServer


class FakeBulk:
    def __init__(self, server: FaultServer, public_key: Any, files: dict[str, bytes]) -> None:
        self.server = server
        self.public_key = public_key
        self.files = files  # resource type -> NDJSON bytes
        self.tokens: list[str] = []
        self.polls: list[float] = []
        self.kickoffs: list[float] = []
        # (status, headers) per poll; a header value may be a function, called when the poll comes
        self.status_plan: list[tuple[int, dict[str, Any]]] = []
        self.kickoff_plan: list[int] = [429, 202]
        self.expired: set[str] = set()  # tokens the file routes answer 401 to
        self.expire_after_first_file = True  # the token runs out mid-download
        routes = server.routes
        routes["/fhir/.well-known/smart-configuration"] = lambda h: h.send_json(
            {"token_endpoint": server.url("/auth/token")}, content_type="application/json")
        routes["/auth/token"] = self.token
        routes["/fhir/Patient/$export"] = self.kickoff
        routes["/fhir/status/1"] = self.status
        for name in files:
            routes[f"/files/{name}"] = self.file
        routes["/files/errors.ndjson"] = self.file

    @property
    def base(self) -> str:
        return self.server.url("/fhir")

    def token(self, handler: FaultHandler) -> None:
        form = urllib.parse.parse_qs(handler.read_body().decode())
        try:
            jwt.decode(form["client_assertion"][0], self.public_key, algorithms=["ES384", "RS384"],
                       audience=self.server.url("/auth/token"), options={"require": ["exp", "iss", "sub", "jti"]})
        except (jwt.PyJWTError, KeyError) as error:
            handler.send_json({"error": "invalid_client", "error_description": str(error)}, status=401,
                              content_type="application/json")
            return
        self.tokens.append(f"token-{len(self.tokens) + 1}")
        handler.send_json({"access_token": self.tokens[-1], "token_type": "bearer", "expires_in": 300,
                           "scope": "system/*.read"}, content_type="application/json")

    def _authorised(self, handler: FaultHandler) -> bool:
        token = handler.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in self.tokens and token not in self.expired:
            return True
        handler.send_json({"resourceType": "OperationOutcome", "issue": [{"diagnostics": "token expired"}]},
                          status=401)
        return False

    def kickoff(self, handler: FaultHandler) -> None:
        self.kickoffs.append(time.monotonic())
        if not self._authorised(handler):
            return
        status = self.kickoff_plan.pop(0) if self.kickoff_plan else 202
        if status == 429:
            handler.send_body(b"", status=429, headers={"Retry-After": "1"})
            return
        handler.send_body(b"", status=202, headers={"Content-Location": self.server.url("/fhir/status/1")})

    def status(self, handler: FaultHandler) -> None:
        self.polls.append(time.monotonic())
        if not self._authorised(handler):
            return
        if handler.command == "DELETE":
            handler.send_body(b"", status=202)
            return
        if self.status_plan:
            code, headers = self.status_plan.pop(0)
            handler.send_body(b"", status=code, headers={k: v() if callable(v) else v for k, v in headers.items()})
            return
        output = [{"type": t, "url": self.server.url(f"/files/{t}")} for t in self.files]
        handler.send_json({"transactionTime": "2026-11-24T09:00:00Z", "request": self.base,
                           "requiresAccessToken": True, "output": output,
                           "error": [{"type": "OperationOutcome", "url": self.server.url("/files/errors.ndjson")}]},
                          content_type="application/json")

    def file(self, handler: FaultHandler) -> None:
        if not self._authorised(handler):
            return
        name = handler.path.rsplit("/", 1)[-1]
        if name == "errors.ndjson":
            body = orjson.dumps({"resourceType": "OperationOutcome",
                                 "issue": [{"severity": "error", "code": "exception", "diagnostics": "x"}]}) + b"\n"
            handler.send_body(body, content_type="application/fhir+ndjson")
            return
        if name == "Observation":  # gzip on the wire, undone by the client
            handler.send_body(gzip.compress(self.files[name]), content_type="application/fhir+ndjson",
                              headers={"Content-Encoding": "gzip"})
        elif name == "Condition":  # a gzip file served as it is stored
            handler.send_body(gzip.compress(self.files[name]), content_type="application/octet-stream")
        else:
            handler.send_body(self.files[name], content_type="application/fhir+ndjson")
        if self.expire_after_first_file:
            self.expire_after_first_file = False
            self.expired.add(handler.headers.get("Authorization", "").removeprefix("Bearer "))


def http_date_in(seconds: float) -> str:
    return formatdate(time.time() + seconds, usegmt=True)
