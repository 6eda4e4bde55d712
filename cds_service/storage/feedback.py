"""Feedback on our cards, and the record of the cards we issued, in the `feedback` and `issued_card` tables.

One transaction per request. A failure raises `StoreError`: feedback is never dropped silently. An item
sent twice, in one request or in two, even by two replicas at once, is stored once (keyed by its content).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import orjson

from cds_service.storage.background import Periodic
from cds_service.storage.database import Database, Transaction
from cds_service.storage.errors import StoreError
from cds_service.storage.migrations import migrate
from cds_service.storage.sqlite import SqliteDatabase

__all__ = [
    "DatabaseFeedbackStore", "FeedbackItem", "FeedbackStore", "IssuedCard", "SqliteFeedbackStore", "StoreError",
    "StoreResult", "item_key",
]


@dataclass(frozen=True)
class StoreResult:
    stored: int
    duplicates: int
    unknown_cards: int


@dataclass(frozen=True)
class IssuedCard:
    """A card this service returned: its uuid, card id and the hook call, with no patient values."""

    uuid: str
    card_id: str
    hook_instance: str
    suggestion_ids: tuple[str, ...]


class FeedbackItem(Protocol):
    """One feedback item as the service layer validated it (protocol.FeedbackItem); storage does not import it."""

    @property
    def card(self) -> str: ...

    @property
    def outcome(self) -> str: ...

    @property
    def outcomeTimestamp(self) -> str: ...

    def model_dump(self, *, mode: str = ..., exclude_none: bool = ...) -> dict[str, Any]: ...


class FeedbackStore(Protocol):
    def record_issued(self, cards: Sequence[IssuedCard], issued_at: datetime) -> None: ...

    def save(
        self, service_id: str, items: Sequence[FeedbackItem], received_at: datetime,
        pending: Mapping[str, str] | None = None,
    ) -> StoreResult: ...

    def count(self) -> int: ...


def item_key(service_id: str, item: FeedbackItem) -> str:
    """Identify an item by its content, so the same item sent again is recognised."""
    canonical = orjson.dumps(
        {"service": service_id, **item.model_dump(mode="json", exclude_none=True)}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()


class DatabaseFeedbackStore:
    """Feedback and issued-card ids in the `feedback` and `issued_card` tables of a migrated database."""

    def __init__(self, database: Database, *, unknown_retention_s: float | None = None) -> None:
        self.database = database
        self.unknown_retention_s = unknown_retention_s
        self.purges = Periodic(self.purge_unknown, "purge old feedback on unknown cards")

    def record_issued(self, cards: Sequence[IssuedCard], issued_at: datetime) -> None:
        if not cards:
            return

        def insert(tx: Transaction) -> None:
            for c in cards:
                tx.execute(
                    "INSERT INTO issued_card (uuid, card_id, hook_instance, suggestion_ids, issued_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (uuid) DO NOTHING",
                    (c.uuid, c.card_id, c.hook_instance, orjson.dumps(c.suggestion_ids).decode(), issued_at),
                )
                # The record is written off the request path (records.py): feedback sent to another worker
                # before it was written was stored as on an unknown card; it is known now.
                tx.execute(
                    "UPDATE feedback SET known_card = ?, card_id = ? WHERE card_uuid = ? AND known_card = ?",
                    (True, c.card_id, c.uuid, False),
                )

        self.database.transact(insert, "record issued cards", durable=False)

    def save(
        self, service_id: str, items: Sequence[FeedbackItem], received_at: datetime,
        pending: Mapping[str, str] | None = None,
    ) -> StoreResult:
        """Store every item in one transaction: all of them, or none and a StoreError.

        `pending` maps the uuids of cards issued but not yet recorded (records.py) to their card ids: their
        feedback counts as feedback on a known card.
        """
        pending = pending or {}
        # Key order: two requests sharing items then take their row locks in the same order and cannot
        # deadlock on PostgreSQL; the counts do not depend on the order.
        keyed = sorted(((item_key(service_id, item), item) for item in items), key=lambda pair: pair[0])

        def insert(tx: Transaction) -> StoreResult:
            stored = duplicates = unknown = 0
            for key, item in keyed:
                row = tx.query("SELECT card_id FROM issued_card WHERE uuid = ?", (item.card,))
                card_id = row[0][0] if row else pending.get(item.card)
                known = card_id is not None
                inserted = tx.execute(
                    "INSERT INTO feedback (item_key, service_id, card_uuid, card_id, known_card, outcome, "
                    "outcome_timestamp, body, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (item_key) DO NOTHING",
                    (
                        key, service_id, item.card, card_id, known, item.outcome, item.outcomeTimestamp,
                        orjson.dumps(item.model_dump(mode="json", exclude_none=True)).decode(), received_at,
                    ),
                )
                stored += inserted
                duplicates += 1 - inserted
                unknown += int(not known and inserted == 1)
            return StoreResult(stored=stored, duplicates=duplicates, unknown_cards=unknown)

        result = self.database.transact(insert, "store feedback")
        if self.unknown_retention_s is not None:
            self.purges.poke()
        return result

    def purge_unknown(self, now: datetime | None = None) -> int:
        """Delete feedback on cards we have no record of, received more than the retention period ago."""
        if self.unknown_retention_s is None:
            return 0
        cutoff = (now or datetime.now(UTC)) - timedelta(seconds=self.unknown_retention_s)
        return self.database.transact(
            lambda tx: tx.execute("DELETE FROM feedback WHERE known_card = ? AND received_at < ?", (False, cutoff)),
            "purge old feedback on unknown cards",
        )

    def count(self) -> int:
        rows = self.database.transact(lambda tx: tx.query("SELECT COUNT(*) FROM feedback"), "read feedback store")
        return int(rows[0][0])


class SqliteFeedbackStore(DatabaseFeedbackStore):
    """The store on its own SQLite file at `path` (migrated on opening).

    Every transaction gets its connection from `self._connect`, the seam a test uses to inject failures.
    """

    def __init__(self, path: Path, timeout_s: float = 5.0, *, unknown_retention_s: float | None = None) -> None:
        self.path = path
        try:
            self.sqlite = SqliteDatabase(path, timeout_s, connect=lambda: self._connect())
            migrate(self.sqlite)
        except StoreError as error:
            raise StoreError(f"cannot open feedback store: {error}") from None
        super().__init__(self.sqlite, unknown_retention_s=unknown_retention_s)

    def _connect(self) -> sqlite3.Connection:
        return self.sqlite.open_connection()
