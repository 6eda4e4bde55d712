"""The Database protocol both backends implement, and helpers shared by them.

SQL is written once, in the subset both SQLite (>= 3.24) and PostgreSQL accept: `?` placeholders,
`INSERT ... ON CONFLICT ... DO NOTHING/UPDATE`. Timestamps are passed as aware datetimes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol, TypeVar

T = TypeVar("T")
Backend = Literal["sqlite", "postgresql"]


class Transaction(Protocol):
    """Statements run inside one open transaction."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one query; return all its rows."""
        ...


class Database(Protocol):
    @property
    def backend(self) -> Backend:
        """Which SQL dialect the database speaks, for the few statements that differ (DDL, locks)."""
        ...

    def transact(self, work: Callable[[Transaction], T], what: str, *, durable: bool = True) -> T:
        """Run `work` in one write transaction: all of it is committed, or none and a StoreError.

        `what` completes the error message "cannot {what}: ...". `durable=False` lets the commit return
        before it reaches the disk: it survives a crash of the process but may be lost if the host loses
        power. Only for records whose loss harms no one (which card ids were issued), never for feedback.
        """
        ...

    def ping(self) -> None:
        """Run SELECT 1 within a short deadline (the connect timeout); raise StoreError if it fails."""
        ...

    def describe(self) -> str:
        """Name the database for logs, with no password."""
        ...

    def close(self) -> None: ...
