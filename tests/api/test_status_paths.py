"""Every error status on every route, with the OperationOutcome body (the service call's own are in
test_service_call.py, the JWT's 401 in the security tests)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from flask.testing import FlaskClient

FEEDBACK = "/cds-services/test-service/feedback"
ITEM = {"card": "c", "outcome": "overridden", "overrideReason": {"userComment": "seen"},
        "outcomeTimestamp": "2026-11-24T09:00:00Z"}


def outcome(response: Any) -> tuple[int, str]:
    body = response.json
    assert body["resourceType"] == "OperationOutcome"
    (issue,) = body["issue"]
    assert issue["severity"] == "error" and issue["diagnostics"]
    return response.status_code, issue["code"]


def test_feedback_for_an_unknown_service_is_404(client: FlaskClient) -> None:
    response = client.post("/cds-services/nope/feedback", data=orjson.dumps({"feedback": [ITEM]}),
                           content_type="application/json")
    assert outcome(response) == (404, "not-found")


@pytest.mark.parametrize(("data", "diagnostics"), [
    (b"{not json", "not valid JSON"),
    (b"[]", "must be a JSON object"),
    (b'"feedback"', "must be a JSON object"),
    (b"{}", "feedback"),
    (b'{"feedback": [{"card": "c"}]}', "feedback.0.outcome"),
])
def test_a_malformed_feedback_body_is_400_saying_what_is_wrong(
    client: FlaskClient, data: bytes, diagnostics: str
) -> None:
    response = client.post(FEEDBACK, data=data, content_type="application/json")
    assert outcome(response) == (400, "invalid")
    assert diagnostics in response.json["issue"][0]["diagnostics"]


def test_feedback_that_is_not_json_is_415(client: FlaskClient) -> None:
    response = client.post(FEEDBACK, data=orjson.dumps({"feedback": [ITEM]}), content_type="text/plain")
    assert outcome(response) == (415, "not-supported")


def test_feedback_over_the_size_limit_is_413(client: FlaskClient) -> None:
    client.application.config["MAX_CONTENT_LENGTH"] = 200
    body = {"feedback": [ITEM | {"overrideReason": {"userComment": "x" * 500}}]}
    response = client.post(FEEDBACK, data=orjson.dumps(body), content_type="application/json")
    assert outcome(response) == (413, "too-costly")


@pytest.mark.parametrize(("method", "url", "allowed"), [
    ("post", "/cds-services", {"GET"}),
    ("put", "/cds-services/test-service", {"POST"}),
    ("get", FEEDBACK, {"POST"}),
    ("delete", "/healthz", {"GET"}),
    ("post", "/metrics", {"GET"}),
    ("post", "/openapi.json", {"GET"}),
])
def test_a_wrong_method_is_405_with_allow(client: FlaskClient, method: str, url: str, allowed: set[str]) -> None:
    response = getattr(client, method)(url)
    assert outcome(response) == (405, "not-supported")
    assert allowed <= set(response.headers["Allow"].split(", "))


def test_an_unknown_path_is_404_in_json(client: FlaskClient) -> None:
    response = client.get("/cds-services/test-service/nothing/here")
    assert outcome(response) == (404, "not-found")
