"""The log line of a refused JWT tells the operator why (issue 20): the aud received beside the one expected,
the clock skew and the server time for a time error, the kid, "no tenant", and the request id that the
401 response carries as X-Request-Id. The response itself stays the same for every cause."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask.testing import FlaskClient

from tests.conftest import NOW
from tests.security.conftest import Capture, TrustSetup
from tests.security.tokens import BASE, DISCOVERY, SERVICE, bearer, claims, mint

BARE_401 = {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "login", "diagnostics": "authentication failed"}]}


def refusal(capture: Capture) -> logging.LogRecord:
    (record,) = [r for r in capture.records if r.name == "cds_service.auth" and hasattr(r, "auth_reason")]
    return record


def refused(client: FlaskClient, token: str) -> str:
    """Send the token to discovery; assert the bare 401; return the response's request id."""
    response = client.get(DISCOVERY, headers=bearer(token))
    assert response.status_code == 401
    assert response.json == BARE_401
    request_id: str = response.headers["X-Request-Id"]
    return request_id


def test_a_wrong_aud_logs_the_aud_received_beside_the_one_expected(
    secure_client: FlaskClient, trust: TrustSetup, log_capture: Capture
) -> None:
    request_id = refused(secure_client, mint(trust.ec, claims(SERVICE)))
    record = refusal(log_capture)
    assert (record.aud_received, record.aud_expected) == (BASE + SERVICE, BASE + DISCOVERY)  # type: ignore[attr-defined]
    assert (record.jwt_kid, record.jwt_tenant, record.request_id) == (  # type: ignore[attr-defined]
        trust.ec.kid, "no tenant", request_id)
    message = record.getMessage()
    assert request_id in message and f"aud_received {BASE + SERVICE}" in message and "None" not in message


def test_an_expired_token_logs_how_far_past_and_the_server_time(
    secure_client: FlaskClient, trust: TrustSetup, log_capture: Capture
) -> None:
    refused(secure_client, mint(trust.ec, claims(now=NOW - timedelta(hours=1))))  # exp = NOW - 55 min
    record = refusal(log_capture)
    assert record.auth_reason.startswith("JWT expired")  # type: ignore[attr-defined]
    assert record.clock_skew_s == 3300 - 30  # type: ignore[attr-defined]  # past exp, beyond the 30 s leeway
    assert record.server_time == NOW.isoformat()  # type: ignore[attr-defined]
    assert record.jwt_kid == trust.ec.kid  # type: ignore[attr-defined]


def test_a_token_from_the_future_logs_the_skew(
    secure_client: FlaskClient, trust: TrustSetup, log_capture: Capture
) -> None:
    refused(secure_client, mint(trust.ec, claims(now=NOW + timedelta(minutes=10))))
    record = refusal(log_capture)
    assert record.auth_reason.startswith("JWT iat is in the future")  # type: ignore[attr-defined]
    assert record.clock_skew_s == 600 - 30  # type: ignore[attr-defined]
    assert record.server_time == NOW.isoformat()  # type: ignore[attr-defined]


def test_every_response_carries_its_own_request_id(secure_client: FlaskClient, trust: TrustSetup) -> None:
    accepted = secure_client.get(DISCOVERY, headers=bearer(mint(trust.ec, claims())))
    first, second = accepted.headers["X-Request-Id"], secure_client.get("/healthz").headers["X-Request-Id"]
    assert accepted.status_code == 200 and first != second and len(first) == 32
