"""Open the database the settings name, migrate it, and build the stores on it.

Empty `CDS_DATABASE_URL`: one SQLite file in `CDS_DATA_DIR` (the embedded default); otherwise PostgreSQL,
with one pool per concern (feedback, card records, JWT replay cache), so a lock or a slow statement on one
table never holds the calls that need another. A PostgreSQL server that cannot be reached at start-up does
not stop the service: it starts not ready, and each worker's background probe migrates the schema when the
database answers (availability.py). A wrong password or a broken schema still stops start-up.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from cds_service.config import Settings
from cds_service.storage.audit import CardAuditLog
from cds_service.storage.availability import Availability
from cds_service.storage.database import Database
from cds_service.storage.errors import DatabaseUnavailable, StoreError
from cds_service.storage.feedback import DatabaseFeedbackStore, SqliteFeedbackStore
from cds_service.storage.migrations import migrate
from cds_service.storage.records import CardRecorder
from cds_service.storage.replay import DatabaseReplayCache
from cds_service.support.clock import Clock

log = logging.getLogger(__name__)

# Start-up migrations may wait for another replica's: allow them longer than a request's statements.
MIGRATION_TIMEOUT_S = 30.0
READINESS_CACHE_S = 1.0


class Readiness:
    """`ready()`: the database answers SELECT 1 within its short deadline; the answer is kept 1 s.

    Costs one trivial statement a second per process, whatever the size of the tables.
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self._lock = threading.Lock()
        self._checked_at = -READINESS_CACHE_S
        self._state = "unknown"

    def state(self) -> str:
        """Return "ok", or "unavailable" (down, not migrated yet, or no answer within the deadline)."""
        with self._lock:
            if time.monotonic() - self._checked_at < READINESS_CACHE_S:
                return self._state
            try:
                self.database.ping()
                self._state = "ok"
            except StoreError as error:
                log.warning("not ready: %s", error)
                self._state = "unavailable"
            self._checked_at = time.monotonic()
            return self._state


@dataclass(frozen=True)
class Stores:
    database: Database  # the feedback store's database (SQLite: the only one)
    feedback: DatabaseFeedbackStore
    replay: DatabaseReplayCache
    audit: CardAuditLog | None
    records: CardRecorder
    readiness: Readiness
    databases: tuple[Database, ...] = field(default=())

    def close(self) -> None:
        for database in self.databases or (self.database,):
            database.close()


def open_postgres(settings: Settings) -> tuple[Database, Database, Database]:
    """Migrate over one short-lived connection, then return the feedback, records and replay databases.

    No pool is opened and no thread started here: gunicorn's master runs this before it forks the workers.
    """
    from cds_service.storage.postgres import PostgresDatabase  # psycopg loads only when PostgreSQL is used

    url = settings.database_url
    migration = PostgresDatabase(
        url, pool_size=None, timeout_s=max(settings.database_timeout_s, MIGRATION_TIMEOUT_S),
        connect_timeout_s=settings.database_connect_timeout_s,
    )
    availability = Availability(lambda: migrate(migration), migration.describe())
    try:
        migrate(migration)
    except DatabaseUnavailable as error:
        log.error("starting without the database (not ready until it answers and is migrated): %s", error)
        availability = Availability(lambda: migrate(migration), migration.describe(), up=False)

    def pool(concern: str) -> PostgresDatabase:
        return PostgresDatabase(
            url, pool_size=settings.database_pool_size, timeout_s=settings.database_timeout_s,
            connect_timeout_s=settings.database_connect_timeout_s, lock_timeout_s=settings.database_lock_timeout_s,
            availability=availability, name=f"nxp2-cds {concern}",
        )

    return pool("feedback"), pool("records"), pool("replay")


def open_stores(settings: Settings, clock: Clock | None = None) -> Stores:
    """Open (and migrate) the database; raise StoreError if it is unusable (not merely unreachable)."""
    feedback: DatabaseFeedbackStore
    retention_s = settings.feedback_unknown_retention_days * 86_400
    if settings.database_url:
        feedback_db, records_db, replay_db = open_postgres(settings)
        feedback = DatabaseFeedbackStore(feedback_db, unknown_retention_s=retention_s)
        databases: tuple[Database, ...] = (feedback_db, records_db, replay_db)
    else:
        feedback = SqliteFeedbackStore(settings.feedback_db, settings.database_timeout_s,
                                       unknown_retention_s=retention_s)
        records_db = replay_db = feedback_db = feedback.database
        databases = (feedback_db,)
    log.info("storage opened", extra={"database": feedback_db.describe(), "cardAudit": settings.card_audit})
    audit = CardAuditLog(records_db) if settings.card_audit else None
    return Stores(
        database=feedback_db,
        feedback=feedback,
        replay=DatabaseReplayCache(replay_db, clock=clock, memory_during_outage=settings.replay_memory_during_outage),
        audit=audit,
        records=CardRecorder(DatabaseFeedbackStore(records_db), audit),
        readiness=Readiness(replay_db),
        databases=databases,
    )
