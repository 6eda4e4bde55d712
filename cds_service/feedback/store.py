"""The FeedbackStore protocol and its SQLite implementation (WAL, one transaction per request).

Imports the standard library and `protocol` only. A failure raises `StoreError`: feedback is never
dropped silently. An item sent twice is stored once (unique on card, outcome, timestamp and choice).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import orjson

from cds_service.protocol import FeedbackItem


class StoreError(RuntimeError):
    """The store could not write or read; the caller must report failure."""


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


class FeedbackStore(Protocol):
    def record_issued(self, cards: Sequence[IssuedCard], issued_at: datetime) -> None: ...

    def save(self, service_id: str, items: Sequence[FeedbackItem], received_at: datetime) -> StoreResult: ...

    def count(self) -> int: ...


SCHEMA = """
CREATE TABLE IF NOT EXISTS issued_card (
    uuid TEXT PRIMARY KEY,
    card_id TEXT NOT NULL,
    hook_instance TEXT NOT NULL,
    suggestion_ids TEXT NOT NULL,
    issued_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    item_key TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    card_uuid TEXT NOT NULL,
    card_id TEXT,
    known_card INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    outcome_timestamp TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at TEXT NOT NULL
);
"""


def item_key(service_id: str, item: FeedbackItem) -> str:
    """Identify an item by its content, so the same item sent again is recognised."""
    canonical = orjson.dumps(
        {"service": service_id, **item.model_dump(mode="json", exclude_none=True)}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()


class SqliteFeedbackStore:
    """Feedback and issued-card ids in one SQLite file, shared safely by all gunicorn workers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as connection:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"cannot open feedback store at {path}: {error}") from None

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        connection.execute("PRAGMA busy_timeout=10000")
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def record_issued(self, cards: Sequence[IssuedCard], issued_at: datetime) -> None:
        if not cards:
            return
        rows = [
            (c.uuid, c.card_id, c.hook_instance, orjson.dumps(c.suggestion_ids).decode(), issued_at.isoformat())
            for c in cards
        ]
        try:
            connection = self._connect()
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany("INSERT OR IGNORE INTO issued_card VALUES (?, ?, ?, ?, ?)", rows)
                connection.execute("COMMIT")
            finally:
                connection.close()
        except sqlite3.Error as error:
            raise StoreError(f"cannot record issued cards: {error}") from None

    def save(self, service_id: str, items: Sequence[FeedbackItem], received_at: datetime) -> StoreResult:
        """Store every item in one transaction: all of them, or none and a StoreError."""
        stored = duplicates = unknown = 0
        try:
            connection = self._connect()
            try:
                connection.execute("BEGIN IMMEDIATE")
                for item in items:
                    row = connection.execute(
                        "SELECT card_id FROM issued_card WHERE uuid = ?", (item.card,)
                    ).fetchone()
                    card_id = row[0] if row else None
                    inserted = connection.execute(
                        "INSERT OR IGNORE INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            item_key(service_id, item), service_id, item.card, card_id, int(row is not None),
                            item.outcome, item.outcomeTimestamp,
                            orjson.dumps(item.model_dump(mode="json", exclude_none=True)).decode(),
                            received_at.isoformat(),
                        ),
                    ).rowcount
                    stored += inserted
                    duplicates += 1 - inserted
                    unknown += int(row is None and inserted == 1)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            finally:
                connection.close()
        except sqlite3.Error as error:
            raise StoreError(f"cannot store feedback: {error}") from None
        return StoreResult(stored=stored, duplicates=duplicates, unknown_cards=unknown)

    def count(self) -> int:
        try:
            connection = self._connect()
            try:
                return int(connection.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])
            finally:
                connection.close()
        except sqlite3.Error as error:
            raise StoreError(f"cannot read feedback store: {error}") from None
