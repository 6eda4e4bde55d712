"""What only the SQLite backend does: writers wait for the file's one writer lock, within the timeout; each
thread keeps a connection, to the file that is at the path now."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from cds_service.storage import sqlite as sqlite_module
from cds_service.storage.errors import DatabaseUnavailable
from cds_service.storage.migrations import migrate
from cds_service.storage.sqlite import SqliteDatabase


def holding_the_writer_lock(path: Path, release: threading.Event, held: threading.Event) -> None:
    """Another process's writer, as SQLite sees it: a connection in BEGIN IMMEDIATE until told to stop."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    held.set()
    release.wait(30)
    other.execute("COMMIT")
    other.close()


def locked_database(tmp_path: Path, timeout_s: float) -> tuple[SqliteDatabase, threading.Event, threading.Thread]:
    """A migrated database whose writer lock another connection holds until the returned event is set."""
    database = SqliteDatabase(tmp_path / "db.sqlite3", timeout_s=timeout_s)
    migrate(database)
    release, held = threading.Event(), threading.Event()
    holder = threading.Thread(target=holding_the_writer_lock, args=(database.path, release, held))
    holder.start()
    assert held.wait(10)
    return database, release, holder


def test_a_writer_waits_for_the_lock_and_commits_once_it_is_free(tmp_path: Path) -> None:
    """With no busy handler of SQLite's, the wait is ours (sqlite.py): it must still wait, not fail."""
    database, release, holder = locked_database(tmp_path, timeout_s=10)
    threading.Timer(0.3, release.set).start()
    rows = database.transact(lambda tx: tx.execute("DELETE FROM replay_jti"), "write while another writer holds")
    holder.join(10)
    assert rows == 0  # it ran, after the other writer committed


def test_a_lock_held_past_the_timeout_is_a_database_unavailable(tmp_path: Path) -> None:
    database, release, holder = locked_database(tmp_path, timeout_s=0.3)
    try:
        with pytest.raises(DatabaseUnavailable, match="database is locked"):
            database.transact(lambda tx: tx.execute("DELETE FROM replay_jti"), "write while locked")
    finally:
        release.set()
        holder.join(10)


def count_rows(database: SqliteDatabase) -> int:
    return int(database.transact(lambda tx: tx.query("SELECT COUNT(*) FROM replay_jti"), "count")[0][0])


def test_a_thread_s_connection_is_used_again(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "db.sqlite3")
    migrate(database)
    opened: list[sqlite3.Connection] = []
    database._connect = lambda: opened.append(database.open_connection()) or opened[-1]  # type: ignore[method-assign]
    database.drop_connection()
    for _ in range(3):
        count_rows(database)
    assert len(opened) == 1


def test_a_data_directory_replaced_under_a_kept_connection_is_the_one_written(tmp_path: Path) -> None:
    """A volume remounted or restored puts another file at the path: a kept connection must not go on writing
    the old one (its commits would be lost with it)."""
    database = SqliteDatabase(tmp_path / "data" / "db.sqlite3")
    migrate(database)
    database.transact(lambda tx: tx.execute("INSERT INTO replay_jti VALUES ('iss', 'old', 1)"), "insert")
    assert count_rows(database) == 1
    restored = SqliteDatabase(tmp_path / "restored" / "db.sqlite3")
    migrate(restored)
    restored.close()
    os.rename(tmp_path / "data", tmp_path / "old-data")
    os.rename(tmp_path / "restored", tmp_path / "data")
    assert count_rows(database) == 0
    database.transact(lambda tx: tx.execute("INSERT INTO replay_jti VALUES ('iss', 'new', 1)"), "insert")
    database.close()
    reader = sqlite3.connect(tmp_path / "data" / "db.sqlite3")
    assert reader.execute("SELECT jti FROM replay_jti").fetchall() == [("new",)]
    reader.close()


def test_the_wal_is_copied_into_the_file_after_every_so_many_commits(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's own checkpoint is off (it ran inside a COMMIT, with the process's writer lock held): ours runs
    after the lock is released. The database file alone (without its -wal) holds the rows once it ran."""
    monkeypatch.setattr(sqlite_module, "CHECKPOINT_EVERY", 4)
    database = SqliteDatabase(tmp_path / "db.sqlite3")
    migrate(database)
    other = sqlite3.connect(tmp_path / "db.sqlite3")
    other.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the schema into the file: the rows are what is counted
    other.close()

    def rows_in_the_file_alone() -> int:
        copy = tmp_path / "copy.sqlite3"
        copy.write_bytes((tmp_path / "db.sqlite3").read_bytes())
        reader = sqlite3.connect(copy)
        try:
            return int(reader.execute("SELECT COUNT(*) FROM replay_jti").fetchone()[0])
        finally:
            reader.close()
            copy.unlink()

    done = database._here().commits
    inserted = 0
    while (done + inserted + 1) % 4 != 0:
        inserted += 1
        database.transact(lambda tx, n=inserted: tx.execute(
            "INSERT INTO replay_jti VALUES ('iss', ?, 1)", (f"jti-{n}",)), "insert")
    assert rows_in_the_file_alone() == 0  # still only in the WAL
    database.transact(lambda tx: tx.execute("INSERT INTO replay_jti VALUES ('iss', 'last', 1)"), "insert")
    assert rows_in_the_file_alone() == inserted + 1


def test_each_transaction_runs_with_the_durability_it_asks_for(tmp_path: Path) -> None:
    """A kept connection carries its synchronous mode from one transaction to the next: it must follow each."""
    database = SqliteDatabase(tmp_path / "db.sqlite3")

    def mode(durable: bool) -> int:
        rows = database.transact(lambda tx: tx.query("PRAGMA synchronous"), "read the mode", durable=durable)
        return int(rows[0][0])

    full, normal = 2, 1
    assert [mode(True), mode(False), mode(False), mode(True)] == [full, normal, normal, full]
