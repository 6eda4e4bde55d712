"""Feedback: validated, stored once, unknown cards marked, store failures loud."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson
from flask.testing import FlaskClient

from cds_service.storage.feedback import StoreError
from tests.conftest import hook_request

URL = "/cds-services/test-service/feedback"


def send(client: FlaskClient, items: list[dict[str, Any]]) -> Any:
    return client.post(URL, data=orjson.dumps({"feedback": items}), content_type="application/json")


def issue_card(client: FlaskClient) -> dict[str, Any]:
    response = client.post("/cds-services/test-service", data=orjson.dumps(hook_request()),
                           content_type="application/json")
    card: dict[str, Any] = response.json["cards"][0]
    return card


def accepted(card: dict[str, Any]) -> dict[str, Any]:
    return {"card": card["uuid"], "outcome": "accepted",
            "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
            "outcomeTimestamp": "2026-11-24T09:01:02.5Z"}


def overridden(card_uuid: str) -> dict[str, Any]:
    return {"card": card_uuid, "outcome": "overridden",
            "overrideReason": {"reason": {"system": "urn:nxp2-cds:override-reason", "code": "not-appropriate"},
                               "userComment": "seen in clinic"},
            "outcomeTimestamp": "2026-11-24T09:05:00+01:00"}


def stored_rows(client: FlaskClient) -> list[tuple[Any, ...]]:
    store = client.application.extensions["nxp2_cds"].store
    with sqlite3.connect(store.path) as connection:
        return connection.execute(
            "SELECT card_uuid, card_id, known_card, outcome FROM feedback ORDER BY outcome"
        ).fetchall()


def test_several_items_in_one_request_are_all_stored(client: FlaskClient) -> None:
    card = issue_card(client)
    response = send(client, [accepted(card), overridden(card["uuid"])])
    assert response.status_code == 200
    assert response.json == {"stored": 2, "duplicates": 0, "unknownCards": 0}
    assert stored_rows(client) == [
        (card["uuid"], "test-born-before", 1, "accepted"),
        (card["uuid"], "test-born-before", 1, "overridden"),
    ]


def test_the_same_item_sent_twice_is_stored_once(client: FlaskClient) -> None:
    card = issue_card(client)
    send(client, [accepted(card)])
    assert send(client, [accepted(card)]).json == {"stored": 0, "duplicates": 1, "unknownCards": 0}
    assert len(stored_rows(client)) == 1


def test_feedback_for_a_card_never_issued_is_stored_and_marked(client: FlaskClient) -> None:
    response = send(client, [overridden("never-issued")])
    assert response.json == {"stored": 1, "duplicates": 0, "unknownCards": 1}
    assert stored_rows(client) == [("never-issued", None, 0, "overridden")]


def test_accepted_without_suggestions_is_400(client: FlaskClient) -> None:
    item = {"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-24T09:00:00Z"}
    assert send(client, [item]).status_code == 400


def test_an_unknown_outcome_is_400(client: FlaskClient) -> None:
    item = overridden("c") | {"outcome": "ignored"}
    assert send(client, [item]).status_code == 400


def test_a_timestamp_that_is_not_rfc3339_is_400(client: FlaskClient) -> None:
    for stamp in ("2026-11-24", "2026-11-24 09:00:00", "2026-13-40T09:00:00Z", "yesterday"):
        assert send(client, [overridden("c") | {"outcomeTimestamp": stamp}]).status_code == 400, stamp


def test_an_override_reason_with_neither_reason_nor_comment_is_400(client: FlaskClient) -> None:
    assert send(client, [overridden("c") | {"overrideReason": {}}]).status_code == 400


def test_an_empty_feedback_list_is_400(client: FlaskClient) -> None:
    assert send(client, []).status_code == 400


def test_a_store_failure_is_500_and_nothing_is_half_stored(client: FlaskClient, monkeypatch: Any) -> None:
    card = issue_card(client)
    store = client.application.extensions["nxp2_cds"].store
    original = store._connect

    def failing_connect() -> Any:
        connection = original()
        connection.execute("CREATE TEMP TRIGGER fail_second BEFORE INSERT ON feedback "
                           "WHEN (SELECT COUNT(*) FROM feedback) >= 1 "
                           "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        return connection

    monkeypatch.setattr(store, "_connect", failing_connect)
    store.sqlite.drop_connection()  # this thread's next transaction opens one with _connect
    response = send(client, [accepted(card), overridden(card["uuid"])])
    assert response.status_code == 500
    assert response.json["resourceType"] == "OperationOutcome"
    monkeypatch.setattr(store, "_connect", original)
    store.sqlite.drop_connection()  # this thread's next transaction opens one with _connect
    assert stored_rows(client) == []


def test_an_unwritable_store_raises_at_start_up(tmp_path: Any) -> None:
    from cds_service.storage.feedback import SqliteFeedbackStore

    blocker = tmp_path / "file"
    blocker.write_text("")
    try:
        SqliteFeedbackStore(blocker / "feedback.sqlite3")
    except StoreError as error:
        assert "cannot open feedback store" in str(error)
    else:
        raise AssertionError("a store under a file must not open")
