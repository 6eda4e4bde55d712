"""Open the database the settings name, migrate it, and build the stores on it.

Empty `CDS_DATABASE_URL`: one SQLite file in `CDS_DATA_DIR` (the embedded default); otherwise PostgreSQL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cds_service.config import Settings
from cds_service.storage.audit import CardAuditLog
from cds_service.storage.database import Database
from cds_service.storage.feedback import DatabaseFeedbackStore, SqliteFeedbackStore
from cds_service.storage.migrations import migrate
from cds_service.storage.records import CardRecorder
from cds_service.storage.replay import DatabaseReplayCache
from cds_service.support.clock import Clock

log = logging.getLogger(__name__)

# Start-up migrations may wait for another replica's: allow them longer than a request's statements.
MIGRATION_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Stores:
    database: Database
    feedback: DatabaseFeedbackStore
    replay: DatabaseReplayCache
    audit: CardAuditLog | None
    records: CardRecorder


def open_postgres(settings: Settings) -> Database:
    """Migrate the PostgreSQL database over one short-lived connection, then return its pooled handle.

    No pool is opened here: gunicorn's master runs this before it forks the workers.
    """
    from cds_service.storage.postgres import PostgresDatabase  # psycopg loads only when PostgreSQL is used

    url = settings.database_url
    migrate(PostgresDatabase(url, pool_size=None, timeout_s=max(settings.database_timeout_s, MIGRATION_TIMEOUT_S)))
    return PostgresDatabase(url, pool_size=settings.database_pool_size, timeout_s=settings.database_timeout_s)


def open_stores(settings: Settings, clock: Clock | None = None) -> Stores:
    """Open and migrate the database; raise StoreError if it cannot be reached or migrated."""
    feedback: DatabaseFeedbackStore
    if settings.database_url:
        database = open_postgres(settings)
        feedback = DatabaseFeedbackStore(database)
    else:
        feedback = SqliteFeedbackStore(settings.feedback_db, settings.database_timeout_s)
        database = feedback.database
    log.info("storage ready", extra={"database": database.describe(), "cardAudit": settings.card_audit})
    audit = CardAuditLog(database) if settings.card_audit else None
    return Stores(
        database=database,
        feedback=feedback,
        replay=DatabaseReplayCache(database, clock=clock),
        audit=audit,
        records=CardRecorder(feedback, audit),
    )
