"""The JWT attack suite: one test per attack, each with a valid control beside it.

Production mode, two trusted issuers (ES384 + RS384 keys on file), endpoint URLs built from
CDS_PUBLIC_BASE_URL = https://cds.example.org. Every refusal is a bare 401 with `WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
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
from tests.conftest import NOW, hook_request
from tests.rules_for_tests import TEST_REGISTRY
from tests.security import workers
from tests.security.conftest import AppFactory, TrustSetup, auth_reasons, secure_settings
from tests.security.tokens import (
    BASE,
    DISCOVERY,
    FEEDBACK,
    ISSUER,
    ISSUER_JKU,
    OTHER_ISSUER,
    SERVICE,
    bearer,
    claims,
    ec_key,
    hs256_with,
    mint,
    record,
    rsa_key,
    signed_as,
    unsigned,
    write_jwks,
)

FEEDBACK_BODY = {"feedback": [{"card": "00000000-0000-4000-8000-00000000000a", "outcome": "overridden",
                               "outcomeTimestamp": "2026-11-24T09:01:00Z"}]}


def send(client: FlaskClient, path: str, headers: dict[str, str] | None = None) -> Any:
    """Call an endpoint the way a CDS Client would (GET discovery, POST service and feedback)."""
    if path == DISCOVERY:
        return client.get(path, headers=headers)
    body = FEEDBACK_BODY if path.endswith("/feedback") else hook_request()
    return client.post(path, data=orjson.dumps(body), content_type="application/json", headers=headers)


def accepted(client: FlaskClient, token: str, path: str = DISCOVERY) -> None:
    response = send(client, path, bearer(token))
    assert response.status_code == 200, response.json


def refused(client: FlaskClient, headers: dict[str, str] | None, path: str = DISCOVERY, *, reason: str) -> None:
    """Assert a bare 401, and that the log gives `reason` (so the attack failed for the right reason)."""
    before = len(auth_reasons())
    response = send(client, path, headers)
    assert response.status_code == 401
    assert reason in auth_reasons()[before], auth_reasons()[before:]
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json == {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "login", "diagnostics": "authentication failed"}]}


# --- The algorithm ---------------------------------------------------------------------------------


def test_alg_none_is_refused(secure_client: FlaskClient, trust: TrustSetup) -> None:
    accepted(secure_client, mint(trust.ec))
    token = unsigned({"alg": "none", "typ": "JWT", "kid": trust.ec.kid}, claims())
    refused(secure_client, bearer(token), reason="not 'Bearer <JWT>'")  # no signature at all
    refused(secure_client, bearer(record(token + "AAAA")), reason="JWT alg 'none' not accepted")
    signed = signed_as(trust.ec, "ES384", {"alg": "none", "typ": "JWT", "kid": trust.ec.kid}, claims())
    refused(secure_client, bearer(signed), reason="JWT alg 'none' not accepted")


def test_hs256_signed_with_the_public_key_is_refused(secure_client: FlaskClient, trust: TrustSetup) -> None:
    accepted(secure_client, mint(trust.rsa))
    for secret in (trust.rsa.public_pem(), json.dumps(trust.rsa.jwk()).encode()):
        token = hs256_with(secret, {"alg": "HS256", "typ": "JWT", "kid": trust.rsa.kid}, claims())
        refused(secure_client, bearer(token), reason="JWT alg 'HS256' not accepted")


def test_an_algorithm_off_the_list_is_refused(make_app: AppFactory, tmp_path: Path, trust: TrustSetup) -> None:
    es256 = ec_key("ES256", "ehr-es256")
    jwks = write_jwks(tmp_path / "with-es256.json", trust.ec, es256)
    issuers = (IssuerConfig(ISSUER, jwks_file=jwks),)
    allowed = make_app(jwt_issuers=issuers, jwt_algorithms=("ES384", "ES256")).test_client()
    accepted(allowed, mint(es256))
    default_list = make_app(jwt_issuers=issuers).test_client()  # ES384, RS384
    refused(default_list, bearer(mint(es256)), reason="JWT alg 'ES256' not accepted")


def test_the_token_alg_cannot_switch_the_key_type(secure_client: FlaskClient, trust: TrustSetup) -> None:
    accepted(secure_client, mint(trust.ec))
    # An RS384 signature presented under the EC key's kid, and an ES384 one under the RSA key's kid.
    for token in (mint(trust.rsa, headers={"kid": trust.ec.kid}), mint(trust.ec, headers={"kid": trust.rsa.kid})):
        refused(secure_client, bearer(token), reason="does not match the key's alg")


def test_an_ec_key_of_the_wrong_curve_is_refused(make_app: AppFactory, tmp_path: Path) -> None:
    p384, p256 = ec_key("ES384", "p384"), ec_key("ES256", "p256")
    document = {"keys": [p384.jwk(), p256.jwk() | {"alg": "ES384"}]}
    (tmp_path / "curves.json").write_text(json.dumps(document))
    client = make_app(jwt_issuers=(IssuerConfig(ISSUER, jwks_file=tmp_path / "curves.json"),)).test_client()
    accepted(client, mint(p384))
    token = signed_as(p256, "ES256", {"alg": "ES384", "typ": "JWT", "kid": "p256"}, claims())
    refused(client, bearer(token), reason="does not match the key's curve")


def test_an_rsa_key_below_2048_bits_is_refused(make_app: AppFactory, tmp_path: Path, trust: TrustSetup) -> None:
    small = rsa_key("RS384", "small", bits=1024)
    jwks = write_jwks(tmp_path / "small.json", trust.rsa, small)
    client = make_app(jwt_issuers=(IssuerConfig(ISSUER, jwks_file=jwks),)).test_client()
    accepted(client, mint(trust.rsa))
    with pytest.warns(jwt.warnings.InsecureKeyLengthWarning):  # PyJWT warns when signing with it
        token = mint(small)
    refused(client, bearer(token), reason="1024 bits")


# --- Header and key -------------------------------------------------------------------------------


def test_an_unknown_kid_is_refused(secure_client: FlaskClient, trust: TrustSetup) -> None:
    accepted(secure_client, mint(trust.ec))
    refused(secure_client, bearer(mint(trust.ec, headers={"kid": "no-such-kid"})), reason="kid not found")
    stranger = ec_key("ES384", "stranger")
    refused(secure_client, bearer(mint(stranger)), reason="kid not found")


def test_a_kid_of_another_issuer_is_refused(secure_client: FlaskClient, trust: TrustSetup) -> None:
    accepted(secure_client, mint(trust.other, claims(iss=OTHER_ISSUER)))
    refused(secure_client, bearer(mint(trust.other, claims(iss=ISSUER))), reason="kid not found")


def test_an_iss_not_on_the_allowlist_is_refused(secure_client: FlaskClient, trust: TrustSetup) -> None:
    accepted(secure_client, mint(trust.ec, claims(iss=ISSUER)))
    for iss in ("https://evil.example.org", ISSUER + "/", ISSUER.upper(), ""):
        reason = "iss not trusted" if iss else "iss missing"
        refused(secure_client, bearer(mint(trust.ec, claims(iss=iss))), reason=reason)
    payload = claims()
    del payload["iss"]
    refused(secure_client, bearer(mint(trust.ec, payload)), reason="iss missing")


def test_a_jku_not_allowed_for_the_iss_is_refused(secure_client: FlaskClient, trust: TrustSetup) -> None:
    accepted(secure_client, mint(trust.ec, headers={"jku": ISSUER_JKU}))
    for jku in ("https://evil.example.org/jwks.json", ISSUER_JKU + "?x", "http://ehr.example.org/.well-known/jwks.json"):
        refused(secure_client, bearer(mint(trust.ec, headers={"jku": jku})), reason="not allowed for this iss")
    # The other issuer has no jku at all: any jku in its tokens is refused.
    accepted(secure_client, mint(trust.other, claims(iss=OTHER_ISSUER)))
    token = mint(trust.other, claims(iss=OTHER_ISSUER), headers={"jku": ISSUER_JKU})
    refused(secure_client, bearer(token), reason="not allowed for this iss")


def test_typ_other_than_jwt_and_missing_kid_are_refused(secure_client: FlaskClient, trust: TrustSetup) -> None:
    accepted(secure_client, mint(trust.ec))
    refused(secure_client, bearer(mint(trust.ec, headers={"typ": "at+jwt"})), reason="typ 'at+jwt'")
    no_typ = signed_as(trust.ec, "ES384", {"alg": "ES384", "kid": trust.ec.kid}, claims())
    refused(secure_client, bearer(no_typ), reason="typ None")
    no_kid = signed_as(trust.ec, "ES384", {"alg": "ES384", "typ": "JWT"}, claims())
    refused(secure_client, bearer(no_kid), reason="kid missing")


# --- Audience --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "aud"),
    [
        pytest.param(SERVICE, BASE + DISCOVERY, id="discovery-url-on-the-service"),
        pytest.param(FEEDBACK, BASE + SERVICE, id="service-url-on-feedback"),
        pytest.param(SERVICE, BASE + SERVICE + "/", id="trailing-slash"),
        pytest.param(DISCOVERY, "https://other.example.org" + DISCOVERY, id="other-host"),
        pytest.param(DISCOVERY, "http://cds.example.org" + DISCOVERY, id="http-scheme"),
        pytest.param(DISCOVERY, "http://localhost" + DISCOVERY, id="the-host-header"),
        pytest.param(SERVICE, BASE + "/cds-services/other-service", id="another-service"),
    ],
)
def test_a_wrong_aud_is_refused(secure_client: FlaskClient, trust: TrustSetup, path: str, aud: str) -> None:
    accepted(secure_client, mint(trust.ec, claims(path)), path)
    refused(secure_client, bearer(mint(trust.ec, claims(path, aud=aud))), path, reason="aud does not name")


def test_aud_may_be_a_list_that_names_the_endpoint(secure_client: FlaskClient, trust: TrustSetup) -> None:
    accepted(secure_client, mint(trust.ec, claims(SERVICE, aud=[BASE + DISCOVERY, BASE + SERVICE])), SERVICE)
    token = mint(trust.ec, claims(SERVICE, aud=[BASE + DISCOVERY]))
    refused(secure_client, bearer(token), SERVICE, reason="aud does not name")


def test_feedback_needs_its_own_url_as_aud(secure_client: FlaskClient, trust: TrustSetup) -> None:
    accepted(secure_client, mint(trust.ec, claims(FEEDBACK)), FEEDBACK)
    refused(secure_client, bearer(mint(trust.ec, claims(DISCOVERY))), FEEDBACK, reason="aud does not name")


# --- Time ------------------------------------------------------------------------------------------


def test_an_expired_token_is_refused(secure_client: FlaskClient, trust: TrustSetup) -> None:
    accepted(secure_client, mint(trust.ec, claims(now=NOW - timedelta(seconds=290))))  # 10 s left
    accepted(secure_client, mint(trust.ec, claims(now=NOW - timedelta(seconds=320))))  # within 30 s leeway
    refused(secure_client, bearer(mint(trust.ec, claims(now=NOW - timedelta(seconds=331)))), reason="JWT expired")


def test_an_iat_in_the_future_is_refused(secure_client: FlaskClient, trust: TrustSetup) -> None:
    accepted(secure_client, mint(trust.ec, claims(now=NOW + timedelta(seconds=29))))  # clock skew
    token = mint(trust.ec, claims(now=NOW + timedelta(seconds=31)))
    refused(secure_client, bearer(token), reason="iat is in the future")
    refused(secure_client, bearer(mint(trust.ec, claims(now=NOW + timedelta(days=1)))), reason="iat is in the future")


def test_a_lifetime_over_the_maximum_is_refused(secure_client: FlaskClient, trust: TrustSetup) -> None:
    accepted(secure_client, mint(trust.ec, claims(lifetime=3600)))
    refused(secure_client, bearer(mint(trust.ec, claims(lifetime=3601))), reason="exceeds 3600 s")
    refused(secure_client, bearer(mint(trust.ec, claims(lifetime=10 * 365 * 86400))), reason="exceeds 3600 s")


@pytest.mark.parametrize("claim", ["exp", "iat", "jti", "aud"])
def test_a_missing_required_claim_is_refused(secure_client: FlaskClient, trust: TrustSetup, claim: str) -> None:
    accepted(secure_client, mint(trust.ec))
    payload = claims()
    del payload[claim]
    refused(secure_client, bearer(mint(trust.ec, payload)), reason="claim")


def test_non_numeric_times_are_refused(secure_client: FlaskClient, trust: TrustSetup) -> None:
    accepted(secure_client, mint(trust.ec))
    for bad in ({"exp": "tomorrow"}, {"iat": True}, {"exp": 1e400}):
        refused(secure_client, bearer(mint(trust.ec, claims() | bad)), reason="is not a number")


# --- Replay ----------------------------------------------------------------------------------------


def test_a_replayed_jti_is_refused(secure_client: FlaskClient, trust: TrustSetup) -> None:
    token = mint(trust.ec)
    accepted(secure_client, token)
    refused(secure_client, bearer(token), reason="jti replayed")
    # The same jti in a new, validly signed token is refused too.
    first = claims()
    accepted(secure_client, mint(trust.ec, first))
    refused(secure_client, bearer(mint(trust.rsa, claims(jti=first["jti"]))), reason="jti replayed")


def test_a_call_that_failed_does_not_use_up_its_token(secure_client: FlaskClient, trust: TrustSetup,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 21 item 6: the feedback store fails (500), the EHR retries with the same token: served, not a
    replay. A token whose call was served stays used."""
    store = secure_client.application.extensions["nxp2_cds"].store
    original = store._connect

    def failing_connect() -> Any:
        connection = original()
        connection.execute("CREATE TEMP TRIGGER disk_full BEFORE INSERT ON feedback "
                           "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        return connection

    token = mint(trust.ec, claims(FEEDBACK))
    monkeypatch.setattr(store, "_connect", failing_connect)
    assert send(secure_client, FEEDBACK, bearer(token)).status_code == 500
    monkeypatch.setattr(store, "_connect", original)
    accepted(secure_client, token, FEEDBACK)
    refused(secure_client, bearer(token), FEEDBACK, reason="jti replayed")


def test_a_replay_is_refused_by_a_second_app_sharing_the_store(make_app: AppFactory, trust: TrustSetup) -> None:
    first, second = make_app().test_client(), make_app().test_client()
    token = mint(trust.ec)
    accepted(first, token)
    refused(second, bearer(token), reason="jti replayed")
    accepted(second, mint(trust.ec))


def test_a_replay_across_two_worker_processes_is_refused(tmp_path: Path, trust: TrustSetup) -> None:
    settings = secure_settings(tmp_path, trust)
    token = mint(trust.ec)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    processes = [context.Process(target=workers.call_discovery, args=(settings, token, barrier, results))
                 for _ in range(2)]
    for process in processes:
        process.start()
    statuses = sorted(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=30)
    assert statuses == [200, 401]


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
    import jwt

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
