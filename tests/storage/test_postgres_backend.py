"""What only the PostgreSQL backend does: no connection held across gunicorn's fork, connections
replaced after the server drops them, deadlocks retried, and clear errors when the server cannot be used."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

import pytest

from cds_service.config import Settings
from cds_service.protocol import FeedbackItem
from cds_service.storage.database import Transaction
from cds_service.storage.errors import DatabaseUnavailable, StoreError
from cds_service.storage.migrations import migrate
from cds_service.storage.postgres import ATTEMPTS, PostgresDatabase
from cds_service.storage.stores import open_stores
from tests.conftest import NOW
from tests.storage.pgserver import PostgresServer, free_port
from tests.storage.workers import SERVICE, feedback_item


def sessions(server: PostgresServer, url: str, settle_to: int | None = None) -> int:
    """Count the server's sessions on this database (waiting up to 2 s for a closed one's backend to exit)."""
    database = url.rsplit("/", 1)[1]
    deadline = time.monotonic() + 2
    with server.admin() as admin:
        while True:
            row = admin.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s", (database,)).fetchone()
            count = int(row[0]) if row else 0
            if settle_to is None or count == settle_to or time.monotonic() > deadline:
                return count
            time.sleep(0.02)


def test_opening_the_stores_leaves_no_connection_open(postgres_server: PostgresServer, postgres_database: str) -> None:
    """gunicorn's master opens the stores (and migrates) before forking: it must hold no connection."""
    stores = open_stores(Settings(database_url=postgres_database))
    assert sessions(postgres_server, postgres_database, settle_to=0) == 0
    stores.feedback.count()
    assert sessions(postgres_server, postgres_database) >= 1
    stores.database.close()
    assert sessions(postgres_server, postgres_database, settle_to=0) == 0


def test_connections_dropped_by_the_server_are_replaced(
    postgres_server: PostgresServer, postgres_database: str
) -> None:
    stores = open_stores(Settings(database_url=postgres_database))
    item = [FeedbackItem.model_validate(feedback_item("card-1", 1))]
    assert stores.feedback.save(SERVICE, item, NOW).stored == 1
    with postgres_server.admin() as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                      (postgres_database.rsplit("/", 1)[1],))
    assert stores.feedback.save(SERVICE, item, NOW).duplicates == 1
    stores.database.close()


def test_a_connection_lost_mid_transaction_fails_that_call_only(
    postgres_server: PostgresServer, postgres_database: str
) -> None:
    """One session ended by the server (pg_terminate_backend, a proxy's idle cut) is not an outage: the call
    on it answers 503, and the next calls are served at once (the storage tests once failed on this, when the
    background purge lost its connection and every call after it was refused as during an outage)."""
    stores = open_stores(Settings(database_url=postgres_database))
    database = stores.feedback.database
    assert isinstance(database, PostgresDatabase)

    def terminated_under_us(tx: Transaction) -> None:
        backend = tx.query("SELECT pg_backend_pid()")[0][0]
        with postgres_server.admin() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        tx.query("SELECT 1")

    with pytest.raises(DatabaseUnavailable):
        database.transact(terminated_under_us, "run a transaction whose session is ended")
    assert database.availability.up
    item = [FeedbackItem.model_validate(feedback_item("card-1", 1))]
    assert stores.feedback.save(SERVICE, item, NOW).stored == 1
    stores.database.close()


def test_an_unreachable_server_is_reported_clearly_and_start_up_goes_on(
    postgres_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 21: a replica starts without its database (not ready) instead of crash-looping."""
    url = f"postgresql://cds_test:{postgres_server.password}@127.0.0.1:{free_port()}/nowhere"
    with caplog.at_level(logging.ERROR, logger="cds_service.storage.stores"):
        stores = open_stores(Settings(database_url=url, database_timeout_s=1))
    assert re.search(r"cannot migrate the database schema: .*127\.0\.0\.1", caplog.text)
    assert postgres_server.password not in caplog.text
    with pytest.raises(StoreError, match="unavailable"):
        stores.feedback.count()


def test_a_wrong_password_is_reported_without_the_password(postgres_server: PostgresServer) -> None:
    url = postgres_server.url().replace(postgres_server.password, "not-the-password")
    with pytest.raises(StoreError, match="password authentication failed") as raised:
        open_stores(Settings(database_url=url))
    assert "not-the-password" not in str(raised.value)


def test_a_deadlock_is_resolved_by_running_the_losing_transaction_again(
    postgres_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Two transactions take two rows in opposite orders; PostgreSQL aborts one, the backend reruns it.

    The interleaving is ours, not the scheduler's: each first attempt takes its first row and waits for the
    other's (so the first round always deadlocks), and a rerun starts only once the other transaction has
    ended (so a rerun cannot deadlock again, however slow the machine). What is asserted is the backend's
    promise: both commit, the loser is run again, and no transaction runs more than ATTEMPTS times.
    """
    database = PostgresDatabase(postgres_database, pool_size=2)
    migrate(database)
    first_row = {"a": threading.Event(), "b": threading.Event()}
    ended = {"a": threading.Event(), "b": threading.Event()}
    attempts = {"a": 0, "b": 0}

    def insert(tx: Transaction, jti: str) -> None:
        tx.execute("INSERT INTO replay_jti (issuer, jti, expires_at) VALUES ('i', ?, 0) ON CONFLICT DO NOTHING",
                   (jti,))

    def work(name: str, mine: str, theirs: str, other: str) -> Callable[[Transaction], None]:
        def run(tx: Transaction) -> None:
            attempts[name] += 1
            if attempts[name] > 1:
                assert ended[other].wait(20), "the other transaction never ended"
            insert(tx, mine)
            first_row[name].set()
            first_row[other].wait(20)
            insert(tx, theirs)
        return run

    errors: list[BaseException] = []

    def transact(name: str, run: Callable[[Transaction], None]) -> None:
        try:
            database.transact(run, "test a deadlock")
        except BaseException as error:
            errors.append(error)
        finally:
            ended[name].set()

    threads = [threading.Thread(target=transact, args=("a", work("a", "k1", "k2", "b"))),
               threading.Thread(target=transact, args=("b", work("b", "k2", "k1", "a")))]
    with caplog.at_level(logging.WARNING, logger="cds_service.storage.postgres"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    rows = database.transact(lambda tx: tx.query("SELECT jti FROM replay_jti ORDER BY jti"), "read")
    database.close()
    assert errors == []
    assert rows == [("k1",), ("k2",)]  # both committed
    assert min(attempts.values()) == 1  # the winner ran once
    assert 2 <= max(attempts.values()) <= ATTEMPTS  # the loser ran again, within the backend's limit
    assert "database conflict, running the transaction again" in caplog.text
