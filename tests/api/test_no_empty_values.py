"""CDS Hooks 2.0 forbids null, "", [] and {} anywhere in a response, except `cards: []` (and `services: []`).

Walks every kind of response this service sends: discovery (real and test catalogue), a service call with
a card (all optional card parts present), one with no card, feedback, health and every error body.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import hook_request

CALL = "/cds-services/test-service"
ALLOWED_EMPTY = {("cards",), ("services",)}


def empty_values(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[str]:
    """Yield the JSON path of every null or empty value, except the allowed empty top-level lists."""
    if value is None or (isinstance(value, str | list | dict) and not value):
        if path not in ALLOWED_EMPTY:
            yield "/".join(str(part) for part in path) or "(body)"
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from empty_values(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from empty_values(item, (*path, index))


def test_the_walker_finds_what_it_must() -> None:
    body = {"cards": [{"summary": "", "links": [], "source": {"label": None, "topic": {}}}], "x": [{}]}
    assert sorted(empty_values(body)) == ["cards/0/links", "cards/0/source/label", "cards/0/source/topic",
                                          "cards/0/summary", "x/0"]
    assert list(empty_values({"cards": []})) == []
    assert list(empty_values({"other": []})) == ["other"]


def post(client: FlaskClient, url: str, body: Any, **kwargs: Any) -> Any:
    return client.post(url, data=orjson.dumps(body), content_type="application/json", **kwargs)


def responses(client: FlaskClient) -> Iterator[tuple[str, Any]]:
    """Yield (label, response) for every response shape the service produces."""
    yield "discovery", client.get("/cds-services")
    with_card = post(client, CALL, hook_request())
    card = with_card.json["cards"][0]
    assert {"uuid", "detail", "suggestions", "selectionBehavior", "overrideReasons", "links"} <= set(card)
    yield "service call with a card", with_card
    yield "escalated card", post(client, CALL, hook_request({"resourceType": "Patient", "id": "old",
                                                              "birthDate": "1920-01-01"}))
    yield "service call, no card", post(client, CALL, hook_request({"resourceType": "Patient", "id": "young",
                                                                     "birthDate": "2001-01-01"}))
    item = {"card": card["uuid"], "outcome": "accepted",
            "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}], "outcomeTimestamp": "2026-11-24T09:01:00Z"}
    yield "feedback", post(client, f"{CALL}/feedback", {"feedback": [item]})
    yield "feedback, duplicate and unknown card", post(client, f"{CALL}/feedback", {"feedback": [
        item, item | {"card": "never-issued"}]})
    yield "healthz", client.get("/healthz")
    yield "readyz", client.get("/readyz")
    yield "400 not JSON", client.post(CALL, data=b"{", content_type="application/json")
    yield "400 invalid field", post(client, CALL, hook_request(hookInstance=""))
    yield "400 wrong hook", post(client, CALL, hook_request(hook="order-select"))
    yield "404 unknown service", post(client, "/cds-services/nope", hook_request())
    yield "404 unknown path", client.get("/nope")
    yield "405", client.get(CALL)
    body = hook_request()
    del body["prefetch"]["patient"]
    yield "412", post(client, CALL, body)
    yield "415", client.post(CALL, data=b"{}", content_type="text/plain")


def test_no_response_carries_null_or_empty_values(client: FlaskClient) -> None:
    for label, response in responses(client):
        assert response.mimetype == "application/json", label
        body = orjson.loads(response.data)
        assert list(empty_values(body)) == [], f"{label} ({response.status_code}): {body}"


def test_a_body_over_the_limit_gets_a_full_error_body(client: FlaskClient) -> None:
    client.application.config["MAX_CONTENT_LENGTH"] = 100
    response = post(client, CALL, hook_request())
    assert response.status_code == 413
    assert list(empty_values(response.json)) == []


def test_an_internal_error_body_has_no_empty_values(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import cds_service.hooks.evaluate as evaluate_module

    monkeypatch.setattr(evaluate_module, "build_facts", lambda *_: 1 / 0)
    response = post(client, CALL, hook_request())
    assert response.status_code == 500
    assert list(empty_values(response.json)) == []


def test_the_real_discovery_document_has_no_empty_values(real_app: Flask) -> None:
    body = real_app.test_client().get("/cds-services").json
    assert body["services"]
    assert list(empty_values(body)) == []
