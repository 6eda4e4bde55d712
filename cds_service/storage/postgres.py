"""The PostgreSQL backend (psycopg 3), chosen by `CDS_DATABASE_URL`, for several replicas.

Each process opens its own connection pool on first use: a pool made before gunicorn forks would
share its sockets with every worker, so the pool is keyed by process id and never crosses a fork.
With `pool_size=None` every transaction opens and closes one connection instead (start-up
migrations in the gunicorn master, which must hold no connection or thread when it forks).

Every wait is bounded on the client side: connecting (connect_timeout, the pool's timeout), each
transaction (statement_timeout and lock_timeout on the server, and a watchdog that shuts the socket if the
server does not answer at all: deadline.py), and dead peers (TCP keepalives, tcp_user_timeout). A
connection failure or a passed deadline marks the database down for the whole process (availability.py):
calls then fail at once with DatabaseUnavailable until a background probe finds it answering; the pool
is then replaced, so no connection-retry back-off delays recovery.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import psycopg
from psycopg import errors
from psycopg_pool import ConnectionPool, PoolTimeout

from cds_service.config import redact_url
from cds_service.storage.availability import RETRY_AFTER_S, Availability
from cds_service.storage.database import T, Transaction
from cds_service.storage.deadline import WATCHDOG, DeadlinePassed
from cds_service.storage.errors import DatabaseUnavailable, StoreError

log = logging.getLogger(__name__)

# Conflicts PostgreSQL resolves by rolling one transaction back whole: running it again is safe.
RETRYABLE = (errors.DeadlockDetected, errors.SerializationFailure)
ATTEMPTS = 3
# The server's own timeouts answer first; the client's deadline is for a server that answers nothing.
CLIENT_MARGIN_S = 0.5
# The server's refusals that say "busy, try again", not "broken": a 503 too, but the database is up.
BUSY = (errors.LockNotAvailable, errors.QueryCanceled, errors.TooManyConnections, errors.CannotConnectNow)


# A server that answers but refuses us for good (wrong password, no such database or role) is not an outage.
_REFUSALS = ("authentication failed", "does not exist", "no pg_hba.conf entry", "permission denied")


def _unreachable(error: psycopg.Error) -> bool:
    """True for no answer or a lost connection (an outage), False for an answer we must not retry past."""
    if error.sqlstate is not None:
        return error.sqlstate.startswith(("08", "57P"))  # connection exception; admin shutdown, cannot connect now
    return not any(refusal in str(error) for refusal in _REFUSALS)


class PostgresTransaction:
    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = self.connection.execute(_placeholders(sql), params)
        return cursor.rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.connection.execute(_placeholders(sql), params).fetchall()


def _placeholders(sql: str) -> str:
    # The shared SQL uses ?; psycopg wants %s (and would read a literal % as a placeholder).
    if "%" in sql:
        raise ValueError("shared SQL must not contain %")
    return sql.replace("?", "%s")


class PostgresDatabase:
    """A PostgreSQL database reached at `url`; at most `pool_size` connections per process.

    `availability` is shared by the databases on one URL (feedback, records, replay: one pool each).
    """

    backend: Literal["postgresql"] = "postgresql"

    def __init__(
        self, url: str, *, pool_size: int | None = 4, timeout_s: float = 5.0, connect_timeout_s: float = 2.0,
        lock_timeout_s: float | None = None, availability: Availability | None = None, name: str = "nxp2-cds",
    ) -> None:
        self.url = url
        self.pool_size = pool_size
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.lock_timeout_s = min(lock_timeout_s or timeout_s, timeout_s)
        self.name = name
        # Without a shared one (tests, the start-up migration): this database probes itself, if pooled.
        self.availability = availability or Availability(self.probe if pool_size else None, redact_url(url))
        # While down, no pool keeps reconnecting with its growing back-off; after, a new pool, no stale connection.
        self.availability.on_down.append(self.close)
        self._pool: ConnectionPool[Any] | None = None
        self._pool_pid = 0
        self._lock = threading.Lock()
        # Pools inherited through fork: kept referenced so their sockets, which belong to the parent,
        # are never closed (or sent a Terminate message) by this process.
        self._inherited: list[ConnectionPool[Any]] = []

    def _connect_kwargs(self) -> dict[str, Any]:
        user_timeout_ms = math.ceil((self.timeout_s + CLIENT_MARGIN_S) * 1000)
        return {
            "autocommit": True,
            # psycopg, like libpq, reads connect_timeout in whole seconds and treats less than 2 as 2.
            "connect_timeout": max(2, math.ceil(self.connect_timeout_s)),
            "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 2,
            "tcp_user_timeout": user_timeout_ms,  # unacknowledged data: the peer is gone
            "application_name": self.name,
        }

    def _configure(self, connection: psycopg.Connection[Any]) -> None:
        # A stuck statement or lock wait ends in an error instead of holding a worker.
        with WATCHDOG.guard(connection.fileno(), self.timeout_s + CLIENT_MARGIN_S):
            connection.execute(f"SET statement_timeout = {math.ceil(self.timeout_s * 1000)}")
            connection.execute(f"SET lock_timeout = {math.ceil(self.lock_timeout_s * 1000)}")
            connection.execute(f"SET idle_in_transaction_session_timeout = {math.ceil(self.timeout_s * 2000)}")

    def _check(self, connection: psycopg.Connection[Any]) -> None:
        # One round trip before each use, bounded: a connection broken by a restart is replaced.
        with WATCHDOG.guard(connection.fileno(), self.connect_timeout_s):
            ConnectionPool.check_connection(connection)

    def _connection_pool(self) -> ConnectionPool[Any]:
        with self._lock:
            if self._pool is None or self._pool_pid != os.getpid():
                if self._pool is not None and self._pool_pid != os.getpid():
                    self._inherited.append(self._pool)
                self._pool = ConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self.pool_size or 1,
                    kwargs=self._connect_kwargs(),
                    configure=self._configure,
                    check=self._check,
                    timeout=self.connect_timeout_s,
                    name=self.name,
                    open=True,
                )
                self._pool_pid = os.getpid()
            return self._pool

    def _open(self) -> psycopg.Connection[Any]:
        connection = psycopg.connect(self.url, **self._connect_kwargs())
        try:
            self._configure(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if self.pool_size is None:
            connection = self._open()
            try:
                yield connection
            finally:
                connection.close()
        else:
            with self._connection_pool().connection() as connection:
                yield connection

    def _down(self, reason: str) -> None:
        # Only a pooled database keeps a state: one opened per transaction (the start-up migration, the
        # probe) simply tries again each time.
        if self.pool_size is not None:
            self.availability.report_down(reason)

    def _lost(self, reason: str) -> None:
        """A connection was lost: an outage, or only that connection (pg_terminate_backend, a proxy's idle
        cut, a failover's old session). Only an outage stops the other calls: a new connection decides."""
        if self.pool_size is None:
            return
        try:
            self.probe()
        except (DeadlinePassed, psycopg.Error) as error:
            self._down(f"{reason}; a new connection failed too: {error}")

    def transact(self, work: Callable[[Transaction], T], what: str, *, durable: bool = True) -> T:
        if self.pool_size is not None:
            self.availability.check(what)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with self._connection() as connection, \
                        WATCHDOG.guard(connection.fileno(), self.timeout_s + CLIENT_MARGIN_S), \
                        connection.transaction():
                    if not durable:
                        connection.execute("SET LOCAL synchronous_commit = off")
                    return work(PostgresTransaction(connection))
            except RETRYABLE as error:
                if attempt == ATTEMPTS:
                    raise StoreError(f"cannot {what}: {error}") from None
                log.warning("database conflict, running the transaction again", extra={"attempt": attempt})
            except BUSY as error:
                raise DatabaseUnavailable(f"cannot {what}: {error}", RETRY_AFTER_S) from None
            except (DeadlinePassed, PoolTimeout) as error:
                self._down(str(error))
                raise DatabaseUnavailable(f"cannot {what}: {error}", RETRY_AFTER_S) from None
            except psycopg.Error as error:
                if _unreachable(error):
                    self._lost(str(error))
                    raise DatabaseUnavailable(f"cannot {what}: {error}", RETRY_AFTER_S) from None
                raise StoreError(f"cannot {what}: {error}") from None
        raise AssertionError("unreachable")

    def probe(self, timeout_s: float | None = None) -> None:
        """Open a new connection and run SELECT 1 within `timeout_s` (default: the connect timeout); raise if not."""
        with psycopg.connect(self.url, **self._connect_kwargs()) as connection, \
                WATCHDOG.guard(connection.fileno(), timeout_s or self.connect_timeout_s):
            connection.execute("SELECT 1")

    def ping(self) -> None:
        """Run SELECT 1 on a pooled connection within the connect timeout; raise StoreError if it fails."""
        self.availability.check("reach the database")
        try:
            with self._connection() as connection, WATCHDOG.guard(connection.fileno(), self.connect_timeout_s):
                connection.execute("SELECT 1")
        except (DeadlinePassed, PoolTimeout, psycopg.Error) as error:
            self.availability.report_down(str(error))
            raise DatabaseUnavailable(f"cannot reach the database: {error}", RETRY_AFTER_S) from None

    def describe(self) -> str:
        return redact_url(self.url)

    def close(self) -> None:
        """Close this process's pool; the next transaction opens a new one."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pool_pid == os.getpid():
            pool.close(timeout=1.0)
