"""The card audit log (off unless `CDS_CARD_AUDIT`): which cards were shown for which hookInstance.

A row holds the hookInstance, the card's uuid, rule id, indicator, its position in the response and
when it was issued: nothing about the patient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cds_service.storage.database import Database, Transaction


@dataclass(frozen=True)
class AuditedCard:
    hook_instance: str
    card_uuid: str
    card_id: str
    indicator: str


@dataclass(frozen=True)
class AuditRow:
    hook_instance: str
    card_uuid: str
    card_id: str
    indicator: str
    position: int
    issued_at: datetime


def _instant(value: datetime | str) -> datetime:
    # PostgreSQL returns a datetime, SQLite the ISO text it was given.
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return instant.astimezone(UTC)


class CardAuditLog:
    """Append audit rows to the `card_audit` table; a card (by uuid) is recorded once."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def record(self, cards: Sequence[AuditedCard], issued_at: datetime) -> None:
        """Record the cards of one response, in the order shown, in one transaction; or raise StoreError."""
        if not cards:
            return

        def insert(tx: Transaction) -> None:
            for position, card in enumerate(cards):
                tx.execute(
                    "INSERT INTO card_audit (card_uuid, hook_instance, card_id, indicator, position, issued_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (card_uuid) DO NOTHING",
                    (card.card_uuid, card.hook_instance, card.card_id, card.indicator, position, issued_at),
                )

        self.database.transact(insert, "record the card audit log", durable=False)

    def for_hook_instance(self, hook_instance: str) -> list[AuditRow]:
        """Return the cards shown for one hook call, in the order they were shown."""
        rows = self.database.transact(
            lambda tx: tx.query(
                "SELECT hook_instance, card_uuid, card_id, indicator, position, issued_at FROM card_audit "
                "WHERE hook_instance = ? ORDER BY issued_at, position",
                (hook_instance,),
            ),
            "read the card audit log",
        )
        return [AuditRow(r[0], r[1], r[2], r[3], r[4], _instant(r[5])) for r in rows]
