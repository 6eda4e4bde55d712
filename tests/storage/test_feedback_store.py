"""The feedback store on both backends: stored once, unknown cards marked, all or nothing per request,
and exact under concurrent writers in several processes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from cds_service.config import Settings
from cds_service.protocol import FeedbackItem
from cds_service.storage.feedback import IssuedCard, StoreError
from cds_service.storage.stores import Stores
from tests.conftest import NOW
from tests.storage import raw
from tests.storage.workers import SERVICE, feedback_item, keys, run_together, send_feedback


def items(*pairs: tuple[str, int]) -> list[FeedbackItem]:
    return [FeedbackItem.model_validate(feedback_item(card, minute)) for card, minute in pairs]


def test_items_are_stored_once_and_unknown_cards_are_marked(stores: Stores, storage_settings: Settings) -> None:
    stores.feedback.record_issued([IssuedCard("card-1", "rule-a", "hook-1", ("s-1",))], NOW)
    first = stores.feedback.save(SERVICE, items(("card-1", 1), ("never-issued", 2), ("card-1", 1)), NOW)
    assert (first.stored, first.duplicates, first.unknown_cards) == (2, 1, 1)
    again = stores.feedback.save(SERVICE, items(("card-1", 1)), NOW)
    assert (again.stored, again.duplicates, again.unknown_cards) == (0, 1, 0)
    assert stores.feedback.count() == 2
    stored = raw.rows(storage_settings, "SELECT card_uuid, card_id, known_card FROM feedback ORDER BY card_uuid")
    assert [(uuid, card_id, bool(known)) for uuid, card_id, known in stored] == [
        ("card-1", "rule-a", True), ("never-issued", None, False),
    ]


def test_an_issued_card_recorded_twice_keeps_its_first_record(stores: Stores, storage_settings: Settings) -> None:
    stores.feedback.record_issued([IssuedCard("card-1", "rule-a", "hook-1", ())], NOW)
    stores.feedback.record_issued([IssuedCard("card-1", "rule-b", "hook-2", ())], NOW)
    assert raw.rows(storage_settings, "SELECT card_id, hook_instance FROM issued_card") == [("rule-a", "hook-1")]


def fail_on_second_insert(settings: Settings) -> None:
    """Make the database itself refuse the second feedback row (a real error inside the transaction)."""
    if settings.database_url:
        raw.execute(
            settings,
            "CREATE FUNCTION fail_second() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF (SELECT count(*) FROM feedback) >= 1 THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER fail_second BEFORE INSERT ON feedback FOR EACH ROW EXECUTE FUNCTION fail_second()",
        )
    else:
        raw.execute(
            settings,
            "CREATE TRIGGER fail_second BEFORE INSERT ON feedback WHEN (SELECT COUNT(*) FROM feedback) >= 1 "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END",
        )


def test_a_failure_mid_request_stores_nothing_and_raises(stores: Stores, storage_settings: Settings) -> None:
    fail_on_second_insert(storage_settings)
    with pytest.raises(StoreError, match=r"cannot store feedback: .*disk full"):
        stores.feedback.save(SERVICE, items(("card-1", 1), ("card-2", 2), ("card-3", 3)), NOW)
    assert raw.rows(storage_settings, "SELECT COUNT(*) FROM feedback") == [(0,)]
    # The connection used is healthy afterwards: a one-item request is stored.
    assert stores.feedback.save(SERVICE, items(("card-1", 1)), NOW).stored == 1


def test_timestamps_are_kept_as_instants(stores: Stores, storage_settings: Settings) -> None:
    stores.feedback.save(SERVICE, items(("card-1", 1)), datetime(2026, 11, 24, 10, 30, tzinfo=UTC))
    (received,), = raw.rows(storage_settings, "SELECT received_at FROM feedback")
    instant = received if isinstance(received, datetime) else datetime.fromisoformat(received)
    assert instant == datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


PROCESSES, PER_PROCESS, SHARED, REQUEST_SIZE = 4, 50, 10, 5


def test_concurrent_writers_store_every_acknowledged_item_exactly_once(
    stores: Stores, storage_settings: Settings
) -> None:
    """4 processes x 50 items in requests of 5; 10 items are sent by every process, in different orders."""
    issued = [IssuedCard(f"issued-{n}", "rule-a", "hook-1", ()) for n in range(20)]
    stores.feedback.record_issued(issued, NOW)
    shared = [feedback_item(f"issued-{n}", 1000 + n) for n in range(SHARED)]
    plans = []
    for process in range(PROCESSES):
        own = [feedback_item(f"issued-{n % 20}" if n % 2 else f"unknown-{process}-{n}", process * 100 + n)
               for n in range(PER_PROCESS - SHARED)]
        mine = own + shared
        random.Random(process).shuffle(mine)
        plans.append([mine[i:i + REQUEST_SIZE] for i in range(0, PER_PROCESS, REQUEST_SIZE)])

    reports = run_together(send_feedback, [(storage_settings, plan) for plan in plans])
    acknowledged: list[tuple[list[str], int, int, int]] = [ack for acks in reports for ack in acks]
    distinct = {key for plan in plans for request in plan for key in keys(request)}
    assert len(distinct) == PROCESSES * (PER_PROCESS - SHARED) + SHARED
    in_store = [key for (key,) in raw.rows(storage_settings, "SELECT item_key FROM feedback")]
    assert sorted(in_store) == sorted(distinct)  # each item once: none lost, none twice
    assert sum(stored for _, stored, _, _ in acknowledged) == len(distinct)
    assert sum(dup for _, _, dup, _ in acknowledged) == PROCESSES * PER_PROCESS - len(distinct)
    unknown = raw.rows(storage_settings, "SELECT COUNT(*) FROM feedback WHERE card_uuid LIKE 'unknown-%'")[0][0]
    assert sum(u for _, _, _, u in acknowledged) == unknown == PROCESSES * (PER_PROCESS - SHARED) // 2



def test_feedback_on_unknown_cards_is_purged_after_the_retention_period(
    stores: Stores, storage_settings: Settings
) -> None:
    """Issue 16 item 5: the table stays bounded for cards we never issued; known cards' feedback is kept."""
    stores.feedback.unknown_retention_s = 30 * 86_400
    stores.feedback.record_issued([IssuedCard("card-1", "rule-a", "hook-1", ())], NOW)
    old = NOW - timedelta(days=40)
    stores.feedback.save(SERVICE, items(("card-1", 1), ("never-issued", 2)), old)
    stores.feedback.save(SERVICE, items(("also-never-issued", 3)), NOW)
    assert stores.feedback.purges.idle(10)  # a save starts the purge in the background, never in the request
    stores.feedback.purge_unknown(NOW)
    kept = raw.rows(storage_settings, "SELECT card_uuid FROM feedback ORDER BY card_uuid")
    assert kept == [("also-never-issued",), ("card-1",)]  # only the old feedback on an unknown card went


def test_a_card_still_queued_for_its_record_counts_as_known(stores: Stores, storage_settings: Settings) -> None:
    """Feedback that reaches the worker before the card's record is written is not marked unknown, in the
    answer or in the stored row (the row is what the purge of unknown-card feedback reads)."""
    result = stores.feedback.save(SERVICE, items(("queued-card", 1)), NOW, {"queued-card": "rule-a"})
    assert (result.stored, result.unknown_cards) == (1, 0)
    stored = raw.rows(storage_settings, "SELECT card_id, known_card FROM feedback WHERE card_uuid = 'queued-card'")
    assert [(card_id, bool(known)) for card_id, known in stored] == [("rule-a", True)]


def test_feedback_that_arrived_before_its_card_record_becomes_known_when_the_record_is_written(
    stores: Stores, storage_settings: Settings
) -> None:
    """Another worker may store the feedback before the issuing worker's records thread writes the card."""
    assert stores.feedback.save(SERVICE, items(("late-card", 1)), NOW).unknown_cards == 1
    stores.feedback.record_issued([IssuedCard("late-card", "rule-a", "hook-1", ())], NOW)
    stored = raw.rows(storage_settings, "SELECT card_id, known_card FROM feedback WHERE card_uuid = 'late-card'")
    assert [(card_id, bool(known)) for card_id, known in stored] == [("rule-a", True)]
