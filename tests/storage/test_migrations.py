"""Start-up migrations: each applied once, also when replicas start together; a failing one leaves the
previous schema intact; files from before migrations existed keep their data."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from cds_service.config import Settings
from cds_service.storage.migrations import MIGRATIONS, Migration, migrate
from cds_service.storage.stores import Stores, open_stores
from tests.storage import raw
from tests.storage.workers import run_together, start_up

ALL_VERSIONS = [m.version for m in MIGRATIONS]


def versions(settings: Settings) -> list[int]:
    return [v for (v,) in raw.rows(settings, "SELECT version FROM schema_version ORDER BY version")]


def test_a_new_database_gets_every_migration_once(stores: Stores, storage_settings: Settings) -> None:
    assert versions(storage_settings) == ALL_VERSIONS
    assert migrate(stores.database) == []
    assert versions(storage_settings) == ALL_VERSIONS


def test_replicas_starting_together_migrate_once(storage_settings: Settings) -> None:
    pids = run_together(start_up, [(storage_settings,)] * 4)
    assert len(set(pids)) == 4
    assert versions(storage_settings) == ALL_VERSIONS


BROKEN = Migration(
    99, "broken on purpose",
    sqlite=("CREATE TABLE half_done (x INTEGER)", "CREATE TABLE broken (x NOT A TYPE ("),
    postgresql=("CREATE TABLE half_done (x INTEGER)", "CREATE TABLE broken (x NOT A TYPE ("),
)


def test_a_failing_migration_leaves_the_previous_schema(stores: Stores, storage_settings: Settings) -> None:
    extra = Migration(4, "a good one before it", sqlite=("CREATE TABLE good (x INTEGER)",),
                      postgresql=("CREATE TABLE good (x INTEGER)",))
    with pytest.raises(Exception, match="cannot migrate the database schema"):
        migrate(stores.database, (*MIGRATIONS, extra, BROKEN))
    assert versions(storage_settings) == ALL_VERSIONS  # the whole run is one transaction
    assert raw.columns(storage_settings, "half_done") == set()
    assert raw.columns(storage_settings, "good") == set()


def test_a_schema_newer_than_this_release_is_used_with_a_warning(
    stores: Stores, storage_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    raw.execute(storage_settings, "INSERT INTO schema_version (version, description, applied_at) "
                                  "VALUES (1000, 'from a later release', CURRENT_TIMESTAMP)")
    with caplog.at_level(logging.WARNING, logger="cds_service.storage.migrations"):
        reopened = open_stores(storage_settings)
    reopened.database.close()
    assert "versions [1000]" in caplog.text


def test_a_feedback_file_from_before_migrations_keeps_its_rows(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    settings.data_dir.mkdir()
    with closing(sqlite3.connect(settings.feedback_db)) as old, old:
        # The schema the first feedback store created, before schema_version existed.
        old.executescript(
            "CREATE TABLE issued_card (uuid TEXT PRIMARY KEY, card_id TEXT NOT NULL, hook_instance TEXT NOT NULL, "
            "suggestion_ids TEXT NOT NULL, issued_at TEXT NOT NULL);"
            "CREATE TABLE feedback (item_key TEXT PRIMARY KEY, service_id TEXT NOT NULL, card_uuid TEXT NOT NULL, "
            "card_id TEXT, known_card INTEGER NOT NULL, outcome TEXT NOT NULL, outcome_timestamp TEXT NOT NULL, "
            "body TEXT NOT NULL, received_at TEXT NOT NULL);"
            "INSERT INTO feedback VALUES ('k', 's', 'c', NULL, 0, 'overridden', 't', '{}', 'r');"
        )
    stores = open_stores(settings)
    assert stores.feedback.count() == 1
    assert versions(settings) == ALL_VERSIONS
