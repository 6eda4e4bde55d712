"""JWK Sets fetched from an allowlisted `jku`, served by a real HTTP server on 127.0.0.1.

http is allowed here only through CDS_JWKS_ALLOW_HTTP_LOOPBACK in development mode; production
refuses http jku URLs at start-up.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service.config import IssuerConfig, SettingsError
from tests.security.conftest import AppFactory, auth_reasons
from tests.security.test_jwt_attacks import accepted, refused
from tests.security.tokens import ISSUER, Key, ec_key, mint


@dataclass
class JwksServer:
    """What the local server serves, and the paths it was asked for."""

    port: int = 0
    keys: list[Key] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    delay_s: float = 0.0

    def url(self, path: str = "/jwks.json") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def fetches(self, path: str = "/jwks.json") -> int:
        return self.requests.count(path)


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    state = JwksServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", state.url())
                self.end_headers()
                return
            if self.path == "/huge":
                body = json.dumps({"keys": [state.keys[0].jwk()], "pad": "x" * 100_000}).encode()
            elif self.path == "/slow":
                time.sleep(1.5)
                body = json.dumps({"keys": [key.jwk() for key in state.keys]}).encode()
            else:
                body = json.dumps({"keys": [key.jwk() for key in state.keys]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def fetching_client(make_app: AppFactory, server: JwksServer, *paths: str, **overrides: Any) -> FlaskClient:
    """A development app trusting ISSUER with keys from the server's jku URL(s) only (no file)."""
    jku = tuple(server.url(path) for path in (paths or ("/jwks.json",)))
    settings: dict[str, Any] = {
        "mode": "development", "jwks_allow_http_loopback": True,
        "jwt_issuers": (IssuerConfig(ISSUER, jku=jku),), "jwks_timeout_s": 0.5,
    } | overrides
    return make_app(**settings).test_client()


def test_a_key_is_fetched_from_the_allowed_jku_and_cached(make_app: AppFactory, jwks_server: JwksServer) -> None:
    key = ec_key()
    jwks_server.keys = [key]
    client = fetching_client(make_app, jwks_server)
    accepted(client, mint(key, headers={"jku": jwks_server.url()}))
    accepted(client, mint(key))  # no jku header: the issuer's configured jku is used
    accepted(client, mint(key, headers={"jku": jwks_server.url()}))
    assert jwks_server.fetches() == 1


def test_a_jku_that_is_not_allowlisted_is_never_fetched(make_app: AppFactory, jwks_server: JwksServer) -> None:
    key = ec_key()
    jwks_server.keys = [key]
    client = fetching_client(make_app, jwks_server)
    refused(client, {"Authorization": f"Bearer {mint(key, headers={'jku': jwks_server.url('/other.json')})}"},
            reason="not allowed for this iss")
    assert jwks_server.requests == []
    accepted(client, mint(key, headers={"jku": jwks_server.url()}))


def test_an_unknown_kid_refetches_at_most_once_per_interval(make_app: AppFactory, jwks_server: JwksServer) -> None:
    old, new = ec_key(kid="old"), ec_key(kid="new")
    jwks_server.keys = [old]
    client = fetching_client(make_app, jwks_server, jwks_min_refetch_s=60)
    accepted(client, mint(old))
    jwks_server.keys = [old, new]  # the issuer rotates its keys
    for _ in range(3):
        refused(client, {"Authorization": f"Bearer {mint(ec_key(kid='unknown'))}"}, reason="kid not found")
    assert jwks_server.fetches() == 1  # within the interval, an unknown kid cannot force a fetch
    jwks_server.keys = [old]
    rotated = fetching_client(make_app, jwks_server, jwks_min_refetch_s=0)
    accepted(rotated, mint(old))
    jwks_server.keys = [new]
    accepted(rotated, mint(new))  # unknown kid: fetched again, found
    assert jwks_server.fetches() == 3


def test_a_stale_set_is_fetched_again(make_app: AppFactory, jwks_server: JwksServer) -> None:
    key = ec_key()
    jwks_server.keys = [key]
    client = fetching_client(make_app, jwks_server, jwks_cache_s=1, jwks_min_refetch_s=0)
    accepted(client, mint(key))
    time.sleep(1.1)
    jwks_server.keys = [ec_key()]  # the key was withdrawn
    refused(client, {"Authorization": f"Bearer {mint(key)}"}, reason="kid not found")
    assert jwks_server.fetches() == 2


@pytest.mark.parametrize(("path", "why"), [("/redirect", "HTTP 302"), ("/huge", "larger than"), ("/slow", "fetch")])
def test_a_redirect_an_oversized_or_a_slow_jwks_is_refused(
    make_app: AppFactory, jwks_server: JwksServer, path: str, why: str, log_capture: Any
) -> None:
    key = ec_key()
    jwks_server.keys = [key]
    client = fetching_client(make_app, jwks_server, path)
    started = time.monotonic()
    refused(client, {"Authorization": f"Bearer {mint(key)}"}, reason="kid not found")
    assert time.monotonic() - started < 1.4  # the 0.5 s budget holds against a server that stalls
    fetch_failures = [r.jwks_error for r in log_capture.records if r.getMessage() == "JWK Set fetch failed"]
    assert fetch_failures and why in fetch_failures[0]
    assert jwks_server.fetches("/jwks.json") == 0  # the redirect was not followed
    assert auth_reasons()


def test_http_jku_is_refused_outside_loopback_development(tmp_path: Path, make_app: AppFactory) -> None:
    local = (IssuerConfig(ISSUER, jku=("http://127.0.0.1:1/jwks.json",)),)
    remote = (IssuerConfig(ISSUER, jku=("http://ehr.example.org/jwks.json",)),)
    make_app(mode="development", jwks_allow_http_loopback=True, jwt_issuers=local)  # the control
    with pytest.raises(SettingsError, match="CDS_JWT_ISSUERS: jku"):
        make_app(mode="development", jwt_issuers=local)
    with pytest.raises(SettingsError, match="CDS_JWT_ISSUERS: jku"):
        make_app(mode="development", jwks_allow_http_loopback=True, jwt_issuers=remote)
    with pytest.raises(SettingsError, match="CDS_JWKS_ALLOW_HTTP_LOOPBACK"):
        make_app(jwks_allow_http_loopback=True, jwt_issuers=local)
