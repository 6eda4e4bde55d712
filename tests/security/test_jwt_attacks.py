"""The JWT attack suite: one test per attack, each with a valid control beside it.

Production mode, two trusted issuers (ES384 + RS384 keys on file), endpoint URLs built from
CDS_PUBLIC_BASE_URL = https://cds.example.org. Every refusal is a bare 401 with `WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

import json
import multiprocessing
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask.testing import FlaskClient

from cds_service.config import IssuerConfig
from tests.conftest import NOW
from tests.security import workers
from tests.security.calls import accepted, refused, send
from tests.security.conftest import AppFactory, TrustSetup, secure_settings
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
    store.sqlite.drop_connection()  # this thread's next transaction opens one with _connect
    assert send(secure_client, FEEDBACK, bearer(token)).status_code == 500
    monkeypatch.setattr(store, "_connect", original)
    store.sqlite.drop_connection()  # this thread's next transaction opens one with _connect
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
