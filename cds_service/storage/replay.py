"""The JWT replay cache on the storage layer: a `jti` is accepted once per issuer until it expires.

Implements the ReplayCache interface of `cds_service.auth` (`remember(jti, issuer, expires_at) -> bool`)
on either backend, so every replica of the service shares one cache.
"""

from __future__ import annotations

import logging
import math
import threading
from datetime import datetime

from cds_service.storage.background import Periodic
from cds_service.storage.database import Database, Transaction
from cds_service.storage.errors import DatabaseUnavailable
from cds_service.support.clock import Clock, SystemClock

log = logging.getLogger(__name__)

# Insert, or take over a row whose token has expired; a live row is left alone and nothing changes.
REMEMBER = (
    "INSERT INTO replay_jti (issuer, jti, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT (issuer, jti) DO UPDATE SET expires_at = excluded.expires_at "
    "WHERE replay_jti.expires_at < ?"
)


def _epoch(instant: datetime | float) -> int:
    """Return whole seconds since the epoch, rounded up so a token is never forgotten early."""
    seconds = instant.timestamp() if isinstance(instant, datetime) else float(instant)
    return math.ceil(seconds)


class DatabaseReplayCache:
    """Remember JWT ids in the `replay_jti` table; expired rows are purged now and then.

    `leeway_s` keeps a row that long after `expires_at`, matching the clock-skew leeway the JWT check
    allows: a token still accepted within that leeway must still be refused the second time.
    """

    def __init__(
        self, database: Database, *, clock: Clock | None = None, leeway_s: float = 60.0, purge_every_s: float = 60.0,
        memory_during_outage: bool = False,
    ) -> None:
        self.database = database
        self.clock = clock or SystemClock()
        self.leeway_s = leeway_s
        self.memory_during_outage = memory_during_outage
        # Purged in the background: a failed purge never fails, nor burns the JWT id of, a valid call.
        self.purges = Periodic(self.purge, "purge the replay cache", purge_every_s,
                               clock=lambda: self.clock.now().timestamp())
        self._memory: dict[tuple[str, str], float] = {}  # (issuer, jti) -> keep until, during an outage only
        self._lock = threading.Lock()

    def remember(self, jti: str, issuer: str, expires_at: datetime | float) -> bool:
        """Record `jti` from `issuer`; return False if it was already recorded and has not expired.

        Atomic on both backends: of two replicas remembering the same jti at once, exactly one gets True.
        Raises StoreError when the database fails (the caller must then refuse the token).
        """
        now = self.clock.now().timestamp()
        keep_until = _epoch(expires_at) + math.ceil(self.leeway_s)

        def insert(tx: Transaction) -> bool:
            return tx.execute(REMEMBER, (issuer, jti, keep_until, math.floor(now))) == 1

        if self._memory and self._memory.get((issuer, jti), -1.0) >= now:
            return False  # seen during the outage, by this process
        try:
            fresh = self.database.transact(insert, "check the JWT id against the replay cache")
        except DatabaseUnavailable:
            if not self.memory_during_outage:
                raise  # fail closed: the call answers 503
            return self._remember_in_memory(jti, issuer, keep_until, now)
        self.purges.poke()
        return fresh

    def _remember_in_memory(self, jti: str, issuer: str, keep_until: float, now: float) -> bool:
        """CDS_REPLAY_MEMORY_DURING_OUTAGE: this process alone remembers the jti while the database is down."""
        with self._lock:
            if not self._memory:
                log.warning("database down: JWT ids are remembered by this process only "
                            "(CDS_REPLAY_MEMORY_DURING_OUTAGE); a replay to another process is not detected")
            self._memory = {key: until for key, until in self._memory.items() if until >= now}
            if (issuer, jti) in self._memory:
                return False
            self._memory[(issuer, jti)] = keep_until
            return True

    def forget(self, jti: str, issuer: str) -> None:
        """Drop `jti`: its call was not served (a 5xx), so the client may send the same token again.

        Raises StoreError when the database fails (the id then stays until its token expires).
        """
        with self._lock:
            self._memory.pop((issuer, jti), None)
        self.database.transact(
            lambda tx: tx.execute("DELETE FROM replay_jti WHERE issuer = ? AND jti = ?", (issuer, jti)),
            "forget the JWT id of a call that was not served",
        )

    def purge(self, now: float | None = None) -> int:
        """Delete the rows whose tokens have expired; return how many."""
        cutoff = math.floor(self.clock.now().timestamp() if now is None else now)
        return self.database.transact(
            lambda tx: tx.execute("DELETE FROM replay_jti WHERE expires_at < ?", (cutoff,)),
            "purge the replay cache",
        )

    def count(self) -> int:
        """Return how many JWT ids are held (expired ones not yet purged included)."""
        rows = self.database.transact(lambda tx: tx.query("SELECT COUNT(*) FROM replay_jti"), "count JWT ids")
        return int(rows[0][0])
