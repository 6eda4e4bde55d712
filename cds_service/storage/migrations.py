"""Schema migrations, applied at start-up by every replica, each migration exactly once.

Concurrent start-ups are safe: the whole run is one transaction that first takes the database's
writer lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), then reads
`schema_version` and applies what is missing. DDL is transactional on both backends, so a replica
killed mid-migration leaves the previous version intact.

Migrations only add (tables, columns, indexes): an older release keeps working on a newer schema,
which a rolling update and a rollback both need.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cds_service.storage.database import Database, Transaction

log = logging.getLogger(__name__)

# Any fixed 64-bit number, the same in every release: replicas of this service wait on it.
ADVISORY_LOCK_KEY = 0x6E78_7032_6364_7301

SCHEMA_VERSION = {
    "sqlite": "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
    "description TEXT NOT NULL, applied_at TEXT NOT NULL)",
    "postgresql": "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
    "description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
}


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1, "feedback and issued cards",
        # IF NOT EXISTS: SQLite files written before migrations existed already hold these two tables.
        sqlite=(
            "CREATE TABLE IF NOT EXISTS issued_card (uuid TEXT PRIMARY KEY, card_id TEXT NOT NULL, "
            "hook_instance TEXT NOT NULL, suggestion_ids TEXT NOT NULL, issued_at TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS feedback (item_key TEXT PRIMARY KEY, service_id TEXT NOT NULL, "
            "card_uuid TEXT NOT NULL, card_id TEXT, known_card INTEGER NOT NULL, outcome TEXT NOT NULL, "
            "outcome_timestamp TEXT NOT NULL, body TEXT NOT NULL, received_at TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS feedback_card ON feedback (card_uuid)",
        ),
        postgresql=(
            "CREATE TABLE issued_card (uuid TEXT PRIMARY KEY, card_id TEXT NOT NULL, "
            "hook_instance TEXT NOT NULL, suggestion_ids TEXT NOT NULL, issued_at TIMESTAMPTZ NOT NULL)",
            "CREATE TABLE feedback (item_key TEXT PRIMARY KEY, service_id TEXT NOT NULL, "
            "card_uuid TEXT NOT NULL, card_id TEXT, known_card BOOLEAN NOT NULL, outcome TEXT NOT NULL, "
            "outcome_timestamp TEXT NOT NULL, body TEXT NOT NULL, received_at TIMESTAMPTZ NOT NULL)",
            "CREATE INDEX feedback_card ON feedback (card_uuid)",
        ),
    ),
    Migration(
        2, "JWT replay cache",
        sqlite=(
            "CREATE TABLE replay_jti (issuer TEXT NOT NULL, jti TEXT NOT NULL, expires_at INTEGER NOT NULL, "
            "PRIMARY KEY (issuer, jti)) WITHOUT ROWID",
            "CREATE INDEX replay_jti_expiry ON replay_jti (expires_at)",
        ),
        postgresql=(
            "CREATE TABLE replay_jti (issuer TEXT NOT NULL, jti TEXT NOT NULL, expires_at BIGINT NOT NULL, "
            "PRIMARY KEY (issuer, jti))",
            "CREATE INDEX replay_jti_expiry ON replay_jti (expires_at)",
        ),
    ),
    Migration(
        3, "card audit log",
        sqlite=(
            "CREATE TABLE card_audit (card_uuid TEXT PRIMARY KEY, hook_instance TEXT NOT NULL, "
            "card_id TEXT NOT NULL, indicator TEXT NOT NULL, position INTEGER NOT NULL, issued_at TEXT NOT NULL)",
            "CREATE INDEX card_audit_hook_instance ON card_audit (hook_instance)",
            "CREATE INDEX card_audit_issued_at ON card_audit (issued_at)",
        ),
        postgresql=(
            "CREATE TABLE card_audit (card_uuid TEXT PRIMARY KEY, hook_instance TEXT NOT NULL, "
            "card_id TEXT NOT NULL, indicator TEXT NOT NULL, position INTEGER NOT NULL, "
            "issued_at TIMESTAMPTZ NOT NULL)",
            "CREATE INDEX card_audit_hook_instance ON card_audit (hook_instance)",
            "CREATE INDEX card_audit_issued_at ON card_audit (issued_at)",
        ),
    ),
    Migration(
        4, "feedback retention on unknown cards",
        sqlite=("CREATE INDEX feedback_known_received ON feedback (known_card, received_at)",),
        postgresql=("CREATE INDEX feedback_known_received ON feedback (known_card, received_at)",),
    ),
)


def migrate(database: Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Bring the schema up to date under the writer lock; return the versions this call applied."""

    def work(tx: Transaction) -> list[int]:
        if database.backend == "postgresql":
            tx.query("SELECT pg_advisory_xact_lock(?)", (ADVISORY_LOCK_KEY,))
        tx.execute(SCHEMA_VERSION[database.backend])
        done = {row[0] for row in tx.query("SELECT version FROM schema_version")}
        applied = []
        for migration in sorted(migrations, key=lambda m: m.version):
            if migration.version in done:
                continue
            for statement in getattr(migration, database.backend):
                tx.execute(statement)
            tx.execute(
                "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, CURRENT_TIMESTAMP)",
                (migration.version, migration.description),
            )
            applied.append(migration.version)
        newer = sorted(done - {m.version for m in migrations})
        if newer:
            log.warning("database schema has versions %s this release does not know; running on it", newer)
        return applied

    applied = database.transact(work, "migrate the database schema")
    if applied:
        log.info("database schema migrated", extra={"versions": applied, "database": database.describe()})
    return applied
