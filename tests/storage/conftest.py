"""Storage fixtures: every storage test runs on both backends, SQLite and a real PostgreSQL server.

The PostgreSQL server starts once per session, on first use (`-k sqlite` starts none); each test gets a
fresh database in it. Set CDS_TEST_SKIP_POSTGRES=1 to skip the PostgreSQL cases explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cds_service.config import Settings
from cds_service.storage.stores import Stores, open_stores
from cds_service.support.clock import FixedClock
from tests.conftest import NOW
from tests.storage.pgserver import PostgresServer, start_server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    if os.environ.get("CDS_TEST_SKIP_POSTGRES") == "1":
        pytest.skip("CDS_TEST_SKIP_POSTGRES=1")
    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new empty database, dropped after the test."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings naming an empty database of each backend (nothing opened yet)."""
    url = request.getfixturevalue("postgres_database") if request.param == "postgresql" else ""
    return Settings(mode="development", data_dir=tmp_path / "var", database_url=url)


@pytest.fixture
def stores(storage_settings: Settings) -> Iterator[Stores]:
    """Opened and migrated stores on each backend, the clock fixed at NOW."""
    opened = open_stores(storage_settings, FixedClock(NOW))
    yield opened
    opened.close()
