"""What only the PostgreSQL backend does: no connection held across gunicorn's fork, connections
replaced after the server drops them, and a clear error when the server cannot be reached."""

from __future__ import annotations

import time

import pytest

from cds_service.config import Settings
from cds_service.protocol import FeedbackItem
from cds_service.storage.errors import StoreError
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


def test_an_unreachable_server_stops_start_up_with_a_clear_error(postgres_server: PostgresServer) -> None:
    url = f"postgresql://cds_test:{postgres_server.password}@127.0.0.1:{free_port()}/nowhere"
    with pytest.raises(StoreError, match=r"cannot migrate the database schema: .*127\.0\.0\.1") as raised:
        open_stores(Settings(database_url=url, database_timeout_s=1))
    assert postgres_server.password not in str(raised.value)


def test_a_wrong_password_is_reported_without_the_password(postgres_server: PostgresServer) -> None:
    url = postgres_server.url().replace(postgres_server.password, "not-the-password")
    with pytest.raises(StoreError, match="password authentication failed") as raised:
        open_stores(Settings(database_url=url))
    assert "not-the-password" not in str(raised.value)
