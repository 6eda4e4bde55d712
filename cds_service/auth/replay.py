"""The JWT replay cache: every `jti` is remembered until its token expires, and a second use is refused.

The SQLite store (WAL, one file under data_dir) is shared by all gunicorn workers of one host. A
PostgreSQL backend for several hosts only has to implement `ReplayCache`. Imports the standard library only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol


class ReplayStoreError(RuntimeError):
    """The replay store cannot be read or written; the call must fail (closed), never pass unchecked."""


class ReplayCache(Protocol):
    def remember(self, jti: str, issuer: str, expires_at: datetime) -> bool:
        """Record the token id; return False if it was already recorded and has not expired."""
        ...


SCHEMA = """
CREATE TABLE IF NOT EXISTS seen_jti (
    issuer TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (issuer, jti)
);
CREATE INDEX IF NOT EXISTS seen_jti_expiry ON seen_jti (expires_at);
"""


class SqliteReplayCache:
    """`jti`s of one host in a SQLite file; the insert is atomic across processes."""

    def __init__(self, path: Path, now: Callable[[], datetime]) -> None:
        self.path = path
        self._now = now
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = self._connect()
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.executescript(SCHEMA)
            finally:
                connection.close()
        except (OSError, sqlite3.Error) as error:
            raise ReplayStoreError(f"cannot open the JWT replay store at {path}: {error}") from None

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        connection.execute("PRAGMA busy_timeout=10000")
        return connection

    def remember(self, jti: str, issuer: str, expires_at: datetime) -> bool:
        """Insert (issuer, jti) unless present; expired entries are purged first, in the same transaction."""
        try:
            connection = self._connect()
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("DELETE FROM seen_jti WHERE expires_at < ?", (self._now().timestamp(),))
                inserted = connection.execute(
                    "INSERT OR IGNORE INTO seen_jti VALUES (?, ?, ?)", (issuer, jti, expires_at.timestamp())
                ).rowcount
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            finally:
                connection.close()
        except sqlite3.Error as error:
            raise ReplayStoreError(f"cannot use the JWT replay store: {error}") from None
        return inserted == 1
