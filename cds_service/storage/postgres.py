"""The PostgreSQL backend (psycopg 3), chosen by `CDS_DATABASE_URL`, for several replicas.

Each process opens its own connection pool on first use: a pool made before gunicorn forks would
share its sockets with every worker, so the pool is keyed by process id and never crosses a fork.
With `pool_size=None` every transaction opens and closes one connection instead (start-up
migrations in the gunicorn master, which must hold no connection or thread when it forks).
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
from cds_service.storage.database import T, Transaction
from cds_service.storage.errors import StoreError

log = logging.getLogger(__name__)

# Conflicts PostgreSQL resolves by rolling one transaction back whole: running it again is safe.
RETRYABLE = (errors.DeadlockDetected, errors.SerializationFailure)
ATTEMPTS = 3


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
    """A PostgreSQL database reached at `url`; at most `pool_size` connections per process."""

    backend: Literal["postgresql"] = "postgresql"

    def __init__(self, url: str, *, pool_size: int | None = 4, timeout_s: float = 5.0) -> None:
        self.url = url
        self.pool_size = pool_size
        self.timeout_s = timeout_s
        self._pool: ConnectionPool[Any] | None = None
        self._pool_pid = 0
        self._lock = threading.Lock()
        # Pools inherited through fork: kept referenced so their sockets, which belong to the parent,
        # are never closed (or sent a Terminate message) by this process.
        self._inherited: list[ConnectionPool[Any]] = []

    def _configure(self, connection: psycopg.Connection[Any]) -> None:
        # A stuck statement or lock wait ends in StoreError instead of holding a worker until gunicorn kills it.
        connection.execute(f"SET statement_timeout = {math.ceil(self.timeout_s * 1000)}")

    def _connection_pool(self) -> ConnectionPool[Any]:
        with self._lock:
            if self._pool is None or self._pool_pid != os.getpid():
                if self._pool is not None:
                    self._inherited.append(self._pool)
                self._pool = ConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self.pool_size or 1,
                    kwargs={"autocommit": True, "connect_timeout": max(1, math.ceil(self.timeout_s))},
                    configure=self._configure,
                    # One round trip before each use: a connection broken by a database restart is replaced.
                    check=ConnectionPool.check_connection,
                    timeout=self.timeout_s,
                    name="nxp2-cds",
                    open=True,
                )
                self._pool_pid = os.getpid()
            return self._pool

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if self.pool_size is None:
            connection = psycopg.connect(
                self.url, autocommit=True, connect_timeout=max(1, math.ceil(self.timeout_s))
            )
            try:
                self._configure(connection)
                yield connection
            finally:
                connection.close()
        else:
            with self._connection_pool().connection() as connection:
                yield connection

    def transact(self, work: Callable[[Transaction], T], what: str, *, durable: bool = True) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with self._connection() as connection, connection.transaction():
                    if not durable:
                        connection.execute("SET LOCAL synchronous_commit = off")
                    return work(PostgresTransaction(connection))
            except RETRYABLE as error:
                if attempt == ATTEMPTS:
                    raise StoreError(f"cannot {what}: {error}") from None
                log.warning("database conflict, running the transaction again", extra={"attempt": attempt})
            except (psycopg.Error, PoolTimeout) as error:
                raise StoreError(f"cannot {what}: {error}") from None
        raise AssertionError("unreachable")

    def describe(self) -> str:
        return redact_url(self.url)

    def close(self) -> None:
        """Close this process's pool; the next transaction opens a new one."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pool_pid == os.getpid():
            pool.close()
