"""The JWT suite, continued: the Authorization header, the routes that need a JWT and the ones that do not,
development mode and the public sandbox. Production mode, the same issuers and URLs as test_jwt_attacks.py.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
from flask import g
from flask.testing import FlaskClient

from cds_service.auth.trust import SANDBOX_ISSUER, SANDBOX_JKU
from cds_service.config import IssuerConfig, SettingsError
from tests.conftest import NOW
from tests.rules_for_tests import TEST_REGISTRY
from tests.security.calls import accepted, refused, send
from tests.security.conftest import AppFactory, TrustSetup, secure_settings
from tests.security.tokens import (
    BASE,
    DISCOVERY,
    FEEDBACK,
    ISSUER,
    SERVICE,
    bearer,
    claims,
    ec_key,
    mint,
    record,
    write_jwks,
)

# --- The header ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [DISCOVERY, SERVICE, FEEDBACK])
def test_a_missing_authorization_header_is_refused_in_production(
    secure_client: FlaskClient, trust: TrustSetup, path: str
) -> None:
    accepted(secure_client, mint(trust.ec, claims(path)), path)
    refused(secure_client, None, path, reason="no Authorization header")


def test_unknown_paths_under_cds_services_need_a_jwt_before_404(secure_client: FlaskClient) -> None:
    refused(secure_client, None, "/cds-services/no-such-service", reason="no Authorization header")
    assert secure_client.get("/cds-services/x/y/z").status_code == 401


def test_every_cds_hooks_route_needs_a_jwt(make_app: AppFactory) -> None:
    app = make_app()
    client = app.test_client()
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/cds-services")]
    expected = {DISCOVERY, "/cds-services/<service_id>", "/cds-services/<service_id>/feedback"}
    assert {rule.rule for rule in rules} >= expected
    for rule in rules:
        path = rule.rule.replace("<service_id>", "test-service")
        for method in sorted(rule.methods - {"OPTIONS", "HEAD"}):
            response = client.open(path, method=method, data=b"{}", content_type="application/json")
            assert response.status_code == 401, (method, path)


@pytest.mark.parametrize("path", ["//cds-services", "/cds-services/", "/cds-services//test-service",
                                  "//cds-services/test-service", "/./cds-services", "/x/../cds-services",
                                  "/cds-services/./test-service", "/healthz/../cds-services"])
def test_path_tricks_never_reach_a_view_without_a_jwt(secure_client: FlaskClient, path: str) -> None:
    for method in ("GET", "POST"):
        response = secure_client.open(path, method=method, data=b"{}", content_type="application/json")
        assert response.status_code in {401, 404, 405}, (method, path)


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNzd29yZA==", "Bearer", "Bearer ", "Bearer a.b", "Bearer a.b.c.d", "Bearer !!.??.**",
     "Bearer eyJhbGciOiJFUzM4NCJ9.e30.sig extra", "Token {token}", "{token}", "Bearer {token},Bearer {token}"],
)
def test_a_malformed_header_is_refused(secure_client: FlaskClient, trust: TrustSetup, header: str) -> None:
    token = mint(trust.ec)
    refused(secure_client, {"Authorization": record(header.format(token=token))}, reason="not 'Bearer <JWT>'")
    accepted(secure_client, token)


def test_an_oversized_token_is_refused(make_app: AppFactory, trust: TrustSetup) -> None:
    big = mint(trust.ec, claims(padding="x" * 5000))
    refused(make_app().test_client(), bearer(big), reason="longer than 4096 bytes")
    accepted(make_app(auth_header_max_bytes=16_384).test_client(), big)


def test_a_tampered_payload_is_refused(secure_client: FlaskClient, trust: TrustSetup) -> None:
    header, _, signature = mint(trust.ec).split(".")
    forged = orjson.dumps(claims(tenant="someone-else"))
    payload = base64.urlsafe_b64encode(forged).rstrip(b"=").decode()
    refused(secure_client, bearer(record(f"{header}.{payload}.{signature}")), reason="signature invalid")
    accepted(secure_client, mint(trust.ec))


def test_a_tenant_outside_the_issuers_list_is_refused(make_app: AppFactory, trust: TrustSetup) -> None:
    issuers = (IssuerConfig(ISSUER, jwks_file=trust.jwks, tenants=("hospital-a",)),)
    client = make_app(jwt_issuers=issuers).test_client()
    accepted(client, mint(trust.ec, claims(tenant="hospital-a")))
    refused(client, bearer(mint(trust.ec, claims(tenant="hospital-b"))), reason="not allowed for this iss")
    # The issuer names its tenants, so a token without one is refused too.
    refused(client, bearer(mint(trust.ec, claims())), reason="tenant None not allowed")


# --- What is open, and what a verified call carries ----------------------------------------------


def test_preflight_and_healthz_need_no_jwt(secure_client: FlaskClient) -> None:
    assert secure_client.get("/healthz").status_code == 200
    for path in (DISCOVERY, SERVICE, FEEDBACK):
        assert secure_client.options(path).status_code == 200


def test_a_verified_call_carries_its_caller(make_app: AppFactory, trust: TrustSetup) -> None:
    app = make_app()
    seen: list[Any] = []

    @app.after_request
    def keep(response: Any) -> Any:
        seen.append((g.caller, g.get("jwt_iss"), g.get("jwt_tenant"), g.get("jwt_jti")))
        return response

    token_claims = claims(SERVICE, tenant="hospital-a")
    accepted(app.test_client(), mint(trust.rsa, token_claims), SERVICE)
    caller, iss, tenant, jti = seen[0]
    assert (caller.issuer, caller.tenant, caller.jti) == (ISSUER, "hospital-a", token_claims["jti"])
    assert (iss, tenant, jti) == (ISSUER, "hospital-a", token_claims["jti"])


# --- Development mode ------------------------------------------------------------------------------


def test_development_accepts_no_jwt_but_still_rejects_a_bad_one(make_app: AppFactory, trust: TrustSetup) -> None:
    client = make_app(mode="development").test_client()
    assert send(client, SERVICE).status_code == 200
    accepted(client, mint(trust.ec, claims(SERVICE)), SERVICE)
    expired = mint(trust.ec, claims(SERVICE, now=NOW - timedelta(hours=1)))
    refused(client, bearer(expired), SERVICE, reason="JWT expired")
    refused(client, {"Authorization": record("Bearer not-a-jwt")}, SERVICE, reason="not 'Bearer <JWT>'")


def test_the_demo_ehr_key_is_trusted_in_development_only(make_app: AppFactory, tmp_path: Path) -> None:
    from cds_service.auth.demo import DemoKeyRefused, demo_issuer_and_key, sign_demo_jwt

    app = make_app(mode="development")
    settings = app.config["SETTINGS"]
    accepted(app.test_client(), record(sign_demo_jwt(settings, BASE + DISCOVERY, NOW)))
    issuer, _ = demo_issuer_and_key(settings)
    assert issuer == "urn:nxp2-cds:demo-ehr"
    production = make_app()
    refused(production.test_client(), bearer(sign_demo_jwt(settings, BASE + DISCOVERY, NOW)), reason="iss not trusted")
    with pytest.raises(DemoKeyRefused):
        demo_issuer_and_key(production.config["SETTINGS"])


# --- The public sandbox ----------------------------------------------------------------------------


def test_the_shipped_sandbox_jwks_has_its_es384_p384_key() -> None:
    from cds_service.auth.jwks import load_jwks_file
    from cds_service.config import Settings

    keys = load_jwks_file(Settings().sandbox_jwks_file)
    key = keys["44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"]
    assert (key["kty"], key["crv"], key["alg"]) == ("EC", "P-384", "ES384")

    assert jwt.PyJWK(dict(key)).key.curve.name == "secp384r1"  # a valid point on P-384


def sandbox_claims(path: str = DISCOVERY) -> dict[str, Any]:
    return claims(path, iss=SANDBOX_ISSUER)


def test_a_sandbox_token_is_refused_unless_the_sandbox_is_enabled(
    make_app: AppFactory, tmp_path: Path
) -> None:
    # We cannot sign with the sandbox's key: a key we control stands in as the sandbox's JWK Set file.
    stand_in = ec_key("ES384", "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f")
    jwks = write_jwks(tmp_path / "sandbox-stand-in.json", stand_in)
    token_headers = {"jku": SANDBOX_JKU}
    disabled = make_app(mode="development", sandbox_jwks_file=jwks).test_client()
    refused(disabled, bearer(mint(stand_in, sandbox_claims(), headers=token_headers)), reason="iss not trusted")
    enabled = make_app(mode="development", trust_sandbox=True, sandbox_jwks_file=jwks).test_client()
    accepted(enabled, mint(stand_in, sandbox_claims(), headers=token_headers))


def test_the_sandbox_cannot_be_trusted_in_production(tmp_path: Path, trust: TrustSetup) -> None:
    from cds_service.app import create_app

    with pytest.raises(SettingsError, match="CDS_TRUST_SANDBOX"):
        create_app(secure_settings(tmp_path, trust, trust_sandbox=True), registry=TEST_REGISTRY)
    listed = (*trust.issuers(), IssuerConfig(SANDBOX_ISSUER, jwks_file=trust.jwks))
    with pytest.raises(SettingsError, match="sandbox"):
        create_app(secure_settings(tmp_path, trust, jwt_issuers=listed), registry=TEST_REGISTRY)


def test_the_real_sandbox_key_verifies_only_its_own_signatures(make_app: AppFactory) -> None:
    # With the shipped file, a token signed by any other key under the sandbox's kid is refused.
    client = make_app(mode="development", trust_sandbox=True).test_client()
    impostor = ec_key("ES384", "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f")
    refused(client, bearer(mint(impostor, sandbox_claims(), headers={"jku": SANDBOX_JKU})), reason="signature invalid")
