"""CORS: allowlisted origins only, preflight on every CDS Hooks route without a JWT, never credentials."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.security.conftest import AppFactory, TrustSetup
from tests.security.test_jwt_attacks import send
from tests.security.tokens import DISCOVERY, FEEDBACK, SERVICE, bearer, claims, mint

SANDBOX = "https://sandbox.cds-hooks.org"
EHR = "https://ehr.example.org"


def preflight(client: FlaskClient, path: str, origin: str, method: str) -> dict[str, str]:
    response = client.options(path, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type",
    })
    assert response.status_code == 200
    return dict(response.headers)


@pytest.mark.parametrize(("path", "method"), [(DISCOVERY, "GET"), (SERVICE, "POST"), (FEEDBACK, "POST")])
def test_the_sandbox_preflight_needs_no_jwt_in_development(make_app: AppFactory, path: str, method: str) -> None:
    headers = preflight(make_app(mode="development").test_client(), path, SANDBOX, method)
    assert headers["Access-Control-Allow-Origin"] == SANDBOX
    assert {"authorization", "content-type"} <= {h.strip().lower() for h in
                                                 headers["Access-Control-Allow-Headers"].split(",")}
    assert method in headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in headers
    assert "Origin" in headers.get("Vary", "")


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:8080"])
def test_development_allows_localhost(make_app: AppFactory, origin: str) -> None:
    headers = preflight(make_app(mode="development").test_client(), SERVICE, origin, "POST")
    assert headers["Access-Control-Allow-Origin"] == origin


@pytest.mark.parametrize("origin", ["https://evil.example.org", "http://localhost.evil.example.org",
                                    "https://sandbox.cds-hooks.org.evil.example.org", "null"])
def test_other_origins_get_no_cors_headers(make_app: AppFactory, origin: str) -> None:
    client = make_app(mode="development").test_client()
    assert "Access-Control-Allow-Origin" not in preflight(client, SERVICE, origin, "POST")
    assert "Access-Control-Allow-Origin" in preflight(client, SERVICE, SANDBOX, "POST")  # the control


@pytest.mark.parametrize(("path", "method"), [(DISCOVERY, "GET"), (SERVICE, "POST"), (FEEDBACK, "POST")])
def test_production_allows_only_the_configured_origins(
    make_app: AppFactory, trust: TrustSetup, path: str, method: str
) -> None:
    default = make_app().test_client()
    assert "Access-Control-Allow-Origin" not in preflight(default, path, SANDBOX, method)
    client = make_app(cors_origins=(EHR,)).test_client()
    assert preflight(client, path, EHR, method)["Access-Control-Allow-Origin"] == EHR
    assert "Access-Control-Allow-Origin" not in preflight(client, path, SANDBOX, method)
    response = send(client, path, bearer(mint(trust.ec, claims(path))) | {"Origin": EHR})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == EHR
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_a_401_still_carries_cors_headers_so_the_browser_can_read_it(make_app: AppFactory) -> None:
    response = send(make_app(cors_origins=(EHR,)).test_client(), SERVICE, {"Origin": EHR})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == EHR
