"""The embedded backend: one SQLite file in WAL mode, shared by every gunicorn worker on the host.

Each thread keeps its own connection, opened in its own process: a forked worker never uses one of the
master's (SQLite forbids it), and opening one per transaction cost more CPU than the transaction (three
statements that read the schema; a fifth of a loaded worker's samples). Write transactions start with BEGIN
IMMEDIATE: they take the file's single writer lock at once, so two writers queue (up to the timeout)
instead of failing half-way on a lock upgrade. The threads of one process queue on a lock of their own
first, so only the other processes' transactions are waited for by polling.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from cds_service.storage.database import T, Transaction
from cds_service.storage.errors import DatabaseUnavailable, StoreError

log = logging.getLogger(__name__)

LOCK_RETRY_S = 0.0005  # between two tries for the writer lock: a commit holds it about a millisecond
# Commits of one process between two WAL checkpoints (each commit of the request path adds a few pages; SQLite's
# own automatic checkpoint comes at 1,000 pages).
CHECKPOINT_EVERY = 250


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


class _ProcessConnections:
    """This process's connections (one per thread) and the lock its threads take before the file's."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.writer = threading.Lock()
        self.local = threading.local()
        self.commits = 0
        self.checkpointing = threading.Lock()


class SqliteDatabase:
    """An SQLite file; `connect` (default: `open_connection`) opens each thread's connection."""

    backend: Literal["sqlite"] = "sqlite"

    def __init__(
        self, path: Path, timeout_s: float = 5.0, connect: Callable[[], sqlite3.Connection] | None = None
    ) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self._connect = connect or self.open_connection
        self._process = _ProcessConnections()
        # Connections opened before a fork: never used nor closed in the child (closing is using), so kept.
        self._inherited: list[_ProcessConnections] = []
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
        # SQLite would copy the WAL into the file inside the COMMIT that crosses its threshold, with this
        # process's writer lock held: every thread of the process would wait tens of ms. `transact` does it.
        connection.execute("PRAGMA wal_autocheckpoint=0")
        return connection

    def _here(self) -> _ProcessConnections:
        if self._process.pid != os.getpid():
            self._inherited.append(self._process)
            self._process = _ProcessConnections()
        return self._process

    def _connection(self, process: _ProcessConnections) -> sqlite3.Connection:
        """This thread's connection, opened anew when the file it reads is no longer the one at `path`.

        A kept connection holds its file open: deleted, moved or replaced (a volume remounted, a restore),
        it would go on reading and writing the old file, and every commit would be lost. A stat per
        transaction (microseconds) notices; a file that cannot be reached fails the transaction.
        """
        local = process.local
        connection: sqlite3.Connection | None = getattr(local, "connection", None)
        identity = self._file_identity()
        if connection is not None and (identity is None or identity != local.identity):
            self.drop_connection()
            connection = None
        if connection is None:
            connection = local.connection = self._connect()
            local.identity = identity or self._file_identity()
            local.durable = True  # open_connection's synchronous=FULL
        return connection

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            found = os.stat(self.path)
        except OSError:
            return None  # not there (yet): connecting creates it, or fails as the transaction's error
        return found.st_dev, found.st_ino

    def drop_connection(self) -> None:
        """Close this thread's connection; the next transaction opens one with `connect` (after an error)."""
        process = self._here()
        connection = getattr(process.local, "connection", None)
        process.local.connection = None
        if connection is not None:
            connection.close()

    def transact(self, work: Callable[[Transaction], T], what: str, *, durable: bool = True) -> T:
        """Run `work` in one write transaction (BEGIN IMMEDIATE: the file's writer lock from the start).

        The connections have no busy handler: SQLite's sleeps 1, 2, 5, 10 ... up to 100 ms between tries
        however soon the lock is free, so under load a call slept tens of milliseconds behind a commit that
        took one (the load test's p99 was near 1 s with the CPU half idle). Here the threads of this process
        queue on its own lock (woken as soon as it is free), and a transaction that finds the file locked by
        another process, at BEGIN or at any statement, is rolled back and run again every LOCK_RETRY_S until
        the timeout; past it, the call fails with DatabaseUnavailable (503, try again later).
        """
        deadline = time.monotonic() + self.timeout_s
        process = self._here()
        if not process.writer.acquire(timeout=self.timeout_s):
            raise DatabaseUnavailable(f"cannot {what}: the database is locked", 1)
        try:
            while True:
                try:
                    result = self._run(process, work, durable)
                    process.commits += 1
                    checkpoint_due = process.commits % CHECKPOINT_EVERY == 0
                    break
                except sqlite3.OperationalError as error:
                    locked = "locked" in str(error) or "busy" in str(error)
                    if locked and time.monotonic() < deadline:
                        time.sleep(LOCK_RETRY_S)
                        continue
                    self.drop_connection()
                    if locked:
                        raise DatabaseUnavailable(f"cannot {what}: {error}", 1) from None
                    raise StoreError(f"cannot {what}: {error}") from None
                except sqlite3.Error as error:
                    self.drop_connection()
                    raise StoreError(f"cannot {what}: {error}") from None
        finally:
            process.writer.release()
        if checkpoint_due:
            self._checkpoint(process)
        return result

    def _checkpoint(self, process: _ProcessConnections) -> None:
        """Copy the WAL into the database file, outside the writer lock: other writers go on meanwhile.

        PASSIVE never waits for a lock; what it cannot copy now, a later checkpoint does. A failure is not the
        call's: its transaction is committed.
        """
        if not process.checkpointing.acquire(blocking=False):
            return  # another thread of this process is at it
        try:
            self._connection(process).execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as error:
            log.warning("WAL checkpoint failed (the next one tries again): %s", error)
        finally:
            process.checkpointing.release()

    def _run(self, process: _ProcessConnections, work: Callable[[Transaction], T], durable: bool) -> T:
        connection = self._connection(process)
        if process.local.durable != durable:
            # In WAL mode NORMAL skips the fsync of each commit; FULL (the default) keeps it. Set when it
            # changes: a kept connection keeps it (the recorder thread's are all NORMAL, the requests' FULL).
            connection.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=NORMAL")
            process.local.durable = durable
        try:
            connection.execute("BEGIN IMMEDIATE")
            result = work(SqliteTransaction(connection))
            connection.execute("COMMIT")
            return result
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def ping(self) -> None:
        self.transact(lambda tx: tx.query("SELECT 1"), "reach the database")

    def describe(self) -> str:
        return f"sqlite:{self.path}"

    def close(self) -> None:
        """Close this thread's connection (the others close with their threads' end)."""
        self.drop_connection()
