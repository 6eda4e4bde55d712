"""The embedded backend: one SQLite file in WAL mode, shared by every gunicorn worker on the host.

A connection per transaction (opening one costs microseconds) keeps forked workers from sharing one.
Write transactions start with BEGIN IMMEDIATE: they take the file's single writer lock at once, so two
writers queue (up to the timeout) instead of failing half-way on a lock upgrade.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from cds_service.storage.database import T, Transaction
from cds_service.storage.errors import StoreError


def _value(value: Any) -> Any:
    # Explicit ISO 8601 text: the sqlite3 module's own datetime adapter is deprecated (Python 3.12).
    return value.isoformat() if isinstance(value, datetime) else value


class SqliteTransaction:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.connection.execute(sql, [_value(p) for p in params]).rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, [_value(p) for p in params]).fetchall()


class SqliteDatabase:
    """An SQLite file; `connect` (default: `open_connection`) is called for every transaction."""

    backend: Literal["sqlite"] = "sqlite"

    def __init__(
        self, path: Path, timeout_s: float = 5.0, connect: Callable[[], sqlite3.Connection] | None = None
    ) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self._connect = connect or self.open_connection
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._enable_wal()
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"cannot open database at {path}: {error}") from None

    def _enable_wal(self) -> None:
        """Switch the file to WAL (readers run beside the one writer), retrying within the timeout.

        Several replicas opening a new file at once can get "database is locked" from this pragma
        without the busy handler being consulted, so the retry is ours.
        """
        deadline = time.monotonic() + self.timeout_s
        while True:
            connection = self.open_connection()
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError:
                if time.monotonic() >= deadline:
                    raise
            finally:
                connection.close()
            time.sleep(0.05)

    def open_connection(self) -> sqlite3.Connection:
        """Open a connection in autocommit mode; transactions are begun explicitly."""
        connection = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout={int(self.timeout_s * 1000)}")
        # FULL: a commit acknowledged to a client survives a power cut, not only a process crash.
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def transact(self, work: Callable[[Transaction], T], what: str) -> T:
        try:
            connection = self._connect()
            try:
                connection.execute("BEGIN IMMEDIATE")
                result = work(SqliteTransaction(connection))
                connection.execute("COMMIT")
                return result
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            finally:
                connection.close()
        except sqlite3.Error as error:
            raise StoreError(f"cannot {what}: {error}") from None

    def describe(self) -> str:
        return f"sqlite:{self.path}"

    def close(self) -> None:
        """Nothing to release: connections live for one transaction."""
