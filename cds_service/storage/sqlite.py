"""The embedded backend: one SQLite file in WAL mode, shared by every gunicorn worker on the host.

A connection per transaction (opening one costs microseconds) keeps forked workers from sharing one.
Write transactions start with BEGIN IMMEDIATE: they take the file's single writer lock at once, so two
writers queue (up to the timeout) instead of failing half-way on a lock upgrade.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from cds_service.storage.database import T, Transaction
from cds_service.storage.errors import DatabaseUnavailable, StoreError

LOCK_RETRY_S = 0.0005  # between two tries for the writer lock: a commit holds it about a millisecond


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
        self._keeper: sqlite3.Connection | None = None
        self._keeper_pid: int | None = None
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
            connection: sqlite3.Connection | None = None
            try:
                # Opening is inside: its pragmas read the schema, locked while another replica switches.
                connection = self.open_connection()
                connection.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError:
                if time.monotonic() >= deadline:
                    raise
            finally:
                if connection is not None:
                    connection.close()
            time.sleep(LOCK_RETRY_S)

    def open_connection(self) -> sqlite3.Connection:
        """Open a connection in autocommit mode; transactions are begun explicitly."""
        connection = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        # No busy handler: `transact` waits for the writer lock itself (see there).
        connection.execute("PRAGMA busy_timeout=0")
        # FULL: a commit acknowledged to a client survives a power cut, not only a process crash.
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def _keep_open(self) -> None:
        """Hold one idle connection per process, so closing a transaction's connection is never the last close.

        SQLite checkpoints the WAL into the database file when its last connection closes: with a connection
        per transaction that was a checkpoint (about 10 ms here) on every request.
        """
        if self._keeper_pid != os.getpid():
            # A connection inherited across fork is never used or closed in the child (SQLite forbids both).
            self._keeper = sqlite3.connect(self.path, timeout=self.timeout_s, check_same_thread=False)
            # One read attaches it to the WAL: only then does it count as an open connection of the file.
            self._keeper.execute("SELECT count(*) FROM sqlite_master").fetchone()
            self._keeper_pid = os.getpid()

    def transact(self, work: Callable[[Transaction], T], what: str, *, durable: bool = True) -> T:
        """Run `work` in one write transaction (BEGIN IMMEDIATE: the file's writer lock from the start).

        The connections have no busy handler: SQLite's sleeps 1, 2, 5, 10 ... up to 100 ms between tries
        however soon the lock is free, so under load a call slept tens of milliseconds behind a commit that
        took one (the load test's p99 was near 1 s with the CPU half idle). Here a transaction that finds the
        file locked, at BEGIN or at any statement, is rolled back and run again every LOCK_RETRY_S until the
        timeout; past it, the call fails with DatabaseUnavailable (503, try again later).
        """
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                return self._run(work, durable)
            except sqlite3.OperationalError as error:
                locked = "locked" in str(error) or "busy" in str(error)
                if locked and time.monotonic() < deadline:
                    time.sleep(LOCK_RETRY_S)
                    continue
                if locked:
                    raise DatabaseUnavailable(f"cannot {what}: {error}", 1) from None
                raise StoreError(f"cannot {what}: {error}") from None
            except sqlite3.Error as error:
                raise StoreError(f"cannot {what}: {error}") from None

    def _run(self, work: Callable[[Transaction], T], durable: bool) -> T:
        self._keep_open()
        connection = self._connect()
        try:
            if not durable:
                # In WAL mode NORMAL skips the fsync of each commit; FULL (the default) keeps it.
                connection.execute("PRAGMA synchronous=NORMAL")
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

    def ping(self) -> None:
        self.transact(lambda tx: tx.query("SELECT 1"), "reach the database")

    def describe(self) -> str:
        return f"sqlite:{self.path}"

    def close(self) -> None:
        """Nothing to release: connections live for one transaction."""
