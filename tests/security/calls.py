"""How the JWT tests call the service (as a CDS Client would) and check a refusal."""

from __future__ import annotations

from typing import Any

import orjson
from flask.testing import FlaskClient

from tests.conftest import hook_request
from tests.security.conftest import auth_reasons
from tests.security.tokens import DISCOVERY, bearer

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
