"""A database that stops, freezes or locks a table: every call answers within its deadline, hook calls keep
their cards, what needs the database answers 503 with Retry-After at once, liveness never fails for it, and
service resumes soon after the database answers, with no acknowledged feedback lost (issue 21).

Each test runs on a PostgreSQL server of its own (started here, not the suite's shared one), so stopping or
freezing it disturbs no other test. A frozen server is always resumed (SIGCONT) in a `finally`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from flask.testing import FlaskClient

from cds_service.app import create_app
from cds_service.auth.demo import sign_demo_jwt
from cds_service.config import Settings
from cds_service.storage.errors import DatabaseUnavailable
from cds_service.storage.stores import READINESS_CACHE_S, open_stores
from tests.conftest import TESTS, hook_request
from tests.rules_for_tests import TEST_REGISTRY
from tests.storage.pgserver import PostgresServer, start_server
from tests.storage.workers import feedback_item

CALL = "/cds-services/test-service"
TIMEOUT_S = 1.0  # CDS_DATABASE_TIMEOUT_S in these tests: the client-side deadline is 0.5 s later
DEADLINE_S = TIMEOUT_S + 0.5
# Generous bounds for a loaded test machine: what they show is "bounded", not a speed.
SLACK_S = 2.0
FROZEN_S = 6.0  # longer than any deadline, so only a client-side deadline can end a waiting call


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    own = start_server()
    try:
        yield own
    finally:
        signal_all(_quiet_processes(own), signal.SIGCONT)
        own.stop()


def signal_all(pids: list[int], number: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # a backend that ended meanwhile
            os.kill(pid, number)


def _quiet_processes(server: PostgresServer) -> list[int]:
    try:
        return server.processes()
    except (OSError, ValueError):
        return []


def settings_for(server: PostgresServer, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "mode": "development", "data_dir": tmp_path / "var", "catalogue_dir": TESTS / "catalogue_for_tests",
        "database_url": server.url(server.create_database()), "database_timeout_s": TIMEOUT_S,
        "database_lock_timeout_s": 0.3,
    } | overrides
    return Settings(**values)


@dataclass
class Client:
    http: FlaskClient
    settings: Settings
    acknowledged: list[str] = field(default_factory=list)  # feedback item keys answered 200
    counter: int = 0

    def hook(self, jwt: bool = False) -> tuple[int, float, Any]:
        headers = {}
        if jwt:
            token = sign_demo_jwt(self.settings, self.settings.public_base_url + CALL, datetime.now(UTC))
            headers["Authorization"] = f"Bearer {token}"
        return self._timed(lambda: self.http.post(CALL, data=orjson.dumps(hook_request()), headers=headers,
                                                  content_type="application/json"))

    def feedback(self) -> tuple[int, float, Any]:
        self.counter += 1
        item = feedback_item(f"card-{self.counter}", self.counter)
        status, elapsed, response = self._timed(lambda: self.http.post(
            f"{CALL}/feedback", data=orjson.dumps({"feedback": [item]}), content_type="application/json"))
        if status == 200:
            self.acknowledged.append(item["card"])
        return status, elapsed, response

    def get(self, path: str) -> tuple[int, float, Any]:
        return self._timed(lambda: self.http.get(path))

    @staticmethod
    def _timed(call: Any) -> tuple[int, float, Any]:
        started = time.monotonic()
        response = call()
        return response.status_code, time.monotonic() - started, response


@pytest.fixture
def client(server: PostgresServer, tmp_path: Path) -> Iterator[Client]:
    settings = settings_for(server, tmp_path)
    app = create_app(settings, registry=TEST_REGISTRY)
    with app.test_client() as http:
        yield Client(http, settings)
    for store in (app.extensions["nxp2_cds"].store,):
        store.database.close()


def assert_unavailable(status: int, response: Any) -> None:
    assert status == 503
    assert response.json["resourceType"] == "OperationOutcome"
    assert int(response.headers["Retry-After"]) >= 1


def stored_cards(settings: Settings) -> set[str]:
    with psycopg.connect(settings.database_url) as connection:
        return {row[0] for row in connection.execute("SELECT card_uuid FROM feedback").fetchall()}


def wait_until_served(client: Client, bound_s: float) -> float:
    """Send feedback every 50 ms until one is stored; return how long that took (fail past `bound_s`)."""
    started = time.monotonic()
    while True:
        status, _, _ = client.feedback()
        if status == 200:
            return time.monotonic() - started
        assert time.monotonic() - started < bound_s, "service did not resume"
        time.sleep(0.05)


def test_a_stopped_database_answers_503_at_once_and_service_resumes(server: PostgresServer, client: Client) -> None:
    assert client.hook()[0] == client.feedback()[0] == 200
    server.halt()
    try:
        first = client.feedback()
        assert_unavailable(first[0], first[2])
        assert first[1] < DEADLINE_S + SLACK_S
        for _ in range(5):
            status, elapsed, response = client.feedback()
            assert_unavailable(status, response)
            assert elapsed < DEADLINE_S  # known down: no call waits for the database again
            status, elapsed, response = client.hook()
            assert status == 200 and response.json["cards"]  # development: the cards still go out
            assert elapsed < DEADLINE_S
            assert client.get("/healthz")[0] == 200  # liveness never fails for the database
        ready = client.get("/readyz")
        assert ready[0] == 503 and ready[2].json["checks"] == {"database": "unreachable"}
    finally:
        server.start()
    resumed = wait_until_served(client, bound_s=2.0 + SLACK_S)
    assert resumed < 2.0 + SLACK_S
    time.sleep(1.1)  # the readiness answer is kept for a second
    assert client.get("/readyz")[0] == 200
    assert set(client.acknowledged) <= stored_cards(client.settings)  # no acknowledged feedback lost


def test_a_frozen_database_holds_no_call_past_its_deadline(server: PostgresServer, client: Client) -> None:
    assert client.hook()[0] == client.feedback()[0] == 200
    frozen = server.processes()
    signal_all(frozen, signal.SIGSTOP)
    try:
        thaw = threading.Timer(FROZEN_S, signal_all, args=(frozen, signal.SIGCONT))
        thaw.start()  # bounded even if this test fails half-way
        status, elapsed, response = client.feedback()
        assert_unavailable(status, response)
        assert elapsed < DEADLINE_S + SLACK_S < FROZEN_S  # the client-side deadline, not the server, ended it
        status, elapsed, response = client.feedback()
        assert_unavailable(status, response)
        assert elapsed < DEADLINE_S
        status, elapsed, response = client.hook()
        assert status == 200 and response.json["cards"] and elapsed < DEADLINE_S
        status, elapsed, _ = client.get("/healthz")
        assert status == 200 and elapsed < DEADLINE_S
        status, elapsed, _ = client.get("/readyz")
        assert status == 503 and elapsed < DEADLINE_S
        thaw.join()
    finally:
        signal_all(frozen, signal.SIGCONT)
    resumed = wait_until_served(client, bound_s=2.0 + SLACK_S)
    assert resumed < 2.0 + SLACK_S
    assert set(client.acknowledged) <= stored_cards(client.settings)


@pytest.mark.parametrize("table", ["feedback", "issued_card", "replay_jti", "card_audit"])
def test_a_locked_table_holds_only_the_calls_that_need_it(server: PostgresServer, tmp_path: Path, table: str) -> None:
    settings = settings_for(server, tmp_path, card_audit=True)
    app = create_app(settings, registry=TEST_REGISTRY)
    client = Client(app.test_client(), settings)
    assert client.hook(jwt=True)[0] == 200
    with psycopg.connect(settings.database_url) as locker:
        locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")  # held until the block ends
        for _ in range(3):
            status, elapsed, response = client.hook()
            assert status == 200 and response.json["cards"] and elapsed < DEADLINE_S  # never waits for records
            status, elapsed, response = client.hook(jwt=True)
            assert elapsed < DEADLINE_S
            if table == "replay_jti":
                assert_unavailable(status, response)  # the replay check fails closed, at once
            else:
                assert status == 200
            status, elapsed, response = client.feedback()
            assert elapsed < DEADLINE_S
            if table in ("feedback", "issued_card"):  # storing feedback reads issued_card
                assert_unavailable(status, response)
            else:
                assert status == 200
            assert client.get("/healthz")[0] == 200
        locker.rollback()
    records = app.extensions["nxp2_cds"].records
    assert records.flush(10)  # records held back by the lock are written once it is gone
    assert records.dropped == 0
    assert set(client.acknowledged) <= stored_cards(settings)
    app.extensions["nxp2_cds"].store.database.close()


def test_production_fails_closed_while_the_database_is_down_unless_memory_is_allowed(
    server: PostgresServer, tmp_path: Path
) -> None:
    strict = Client(create_app(settings_for(server, tmp_path / "a"), registry=TEST_REGISTRY).test_client(),
                    settings_for(server, tmp_path / "a"))
    lenient_settings = settings_for(server, tmp_path / "b", replay_memory_during_outage=True)
    lenient = Client(create_app(lenient_settings, registry=TEST_REGISTRY).test_client(), lenient_settings)
    assert strict.hook(jwt=True)[0] == lenient.hook(jwt=True)[0] == 200
    server.halt()
    try:
        for _ in range(2):  # the first finds the database down, the second is told at once
            status, elapsed, response = strict.hook(jwt=True)
            assert_unavailable(status, response)
            assert elapsed < DEADLINE_S + SLACK_S
        token = sign_demo_jwt(lenient_settings, lenient_settings.public_base_url + CALL, datetime.now(UTC))
        headers = {"Authorization": f"Bearer {token}"}
        body = orjson.dumps(hook_request())
        first = lenient.http.post(CALL, data=body, headers=headers, content_type="application/json")
        again = lenient.http.post(CALL, data=body, headers=headers, content_type="application/json")
        assert (first.status_code, again.status_code) == (200, 401)  # remembered in memory: a replay is refused
    finally:
        server.start()


def test_the_service_starts_without_its_database_and_is_ready_once_it_answers(server: PostgresServer) -> None:
    url = server.url(server.create_database())
    server.halt()
    try:
        stores = open_stores(Settings(database_url=url, database_timeout_s=TIMEOUT_S))  # starts, not ready
        assert stores.readiness.state() == "unavailable"
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            stores.feedback.count()
        assert time.monotonic() - started < DEADLINE_S
    finally:
        server.start()
    started = time.monotonic()
    while stores.readiness.state() != "ok":  # the background probe migrates, then readiness follows
        assert time.monotonic() - started < 2.0 + READINESS_CACHE_S + SLACK_S, "never became ready"
        time.sleep(0.1)
    assert stores.feedback.count() == 0  # migrated: the table is there
    stores.close()
