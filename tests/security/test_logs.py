"""Logs never hold a token, a JWT, an Authorization header or a patient value.

Every security test is already checked by the autouse `no_secret_in_logs` fixture. Here the whole
attack suite runs again in one test under pytest's caplog at DEBUG, and gunicorn's access-log line
(our deploy/gunicorn.conf.py format) is built for a request that carries a token.
"""

from __future__ import annotations

import inspect
import logging
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from gunicorn.glogging import Logger, SafeAtoms
from werkzeug.test import EnvironBuilder

from cds_service import observability
from cds_service.config import PROJECT_ROOT
from tests.security import test_jwt_attacks, test_jwt_routes
from tests.security.conftest import app_factory, make_trust
from tests.security.tokens import ISSUED, bearer, ec_key, mint

# Attacks that need something other than the in-process fixtures (worker processes).
NOT_IN_PROCESS = {"test_a_replay_across_two_worker_processes_is_refused"}


def attack_cases() -> list[tuple[str, Any, dict[str, Any]]]:
    """(name, function, parametrized arguments) of every in-process test of the JWT suite (both modules)."""
    cases = []
    members = [*inspect.getmembers(test_jwt_attacks, inspect.isfunction),
               *inspect.getmembers(test_jwt_routes, inspect.isfunction)]
    for name, function in members:
        if not name.startswith("test_") or name in NOT_IN_PROCESS:
            continue
        runs: list[dict[str, Any]] = [{}]
        for mark in getattr(function, "pytestmark", []):
            if mark.name == "parametrize":
                names = [n.strip() for n in mark.args[0].split(",")] if isinstance(mark.args[0], str) else mark.args[0]
                values = [v.values if hasattr(v, "values") else v for v in mark.args[1]]
                runs = [run | dict(zip(names, v if len(names) > 1 else (v,), strict=True))
                        for run in runs for v in values]
        cases += [(name, function, run) for run in runs]
    return cases


def test_the_whole_attack_suite_logs_no_secret(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cases = attack_cases()
    assert len(cases) > 50
    for index, (_name, function, arguments) in enumerate(cases):
        folder = tmp_path / str(index)
        folder.mkdir()
        trust = make_trust(folder)
        make_app = app_factory(folder, trust)
        available = {"trust": trust, "make_app": make_app, "tmp_path": folder} | arguments
        wanted = inspect.signature(function).parameters
        if "secure_client" in wanted:
            available["secure_client"] = make_app().test_client()
        with pytest.MonkeyPatch.context() as monkeypatch:
            available["monkeypatch"] = monkeypatch
            function(**{parameter: available[parameter] for parameter in wanted})
    text = caplog.text + "\n".join(str(record.__dict__) for record in caplog.records)
    refusals = [record for record in caplog.records if record.getMessage().startswith("authentication failed: ")]
    assert len(refusals) > 60  # the control: the capture did see the attacks
    secrets = {secret for secret in ISSUED if len(secret) >= 12}
    assert len(secrets) > 60
    assert [secret[:30] for secret in secrets if secret in text] == []
    # Not even a token's signature segment (the part that makes it usable) appears.
    signatures = {secret.rsplit(".", 1)[-1] for secret in secrets if secret.count(".") == 2}
    assert [s[:30] for s in signatures if len(s) > 20 and s in text] == []


def access_line(log_format: str, headers: dict[str, str], path: str, query: str) -> str:
    """Format one gunicorn access-log line exactly as gunicorn would for this request."""
    environ = EnvironBuilder(path=path, query_string=query, headers=headers, method="POST").get_environ()
    environ["RAW_URI"] = f"{path}?{query}"
    request = SimpleNamespace(headers=[(key.upper(), value) for key, value in headers.items()])
    response = SimpleNamespace(status="401 UNAUTHORIZED", sent=120, headers=[("Content-Type", "application/json")])
    atoms = Logger.atoms(Logger.__new__(Logger), response, request, environ, timedelta(milliseconds=12))
    return log_format % SafeAtoms(atoms)


def test_gunicorn_writes_no_access_log_that_could_hold_a_token(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # The config file sets PROMETHEUS_MULTIPROC_DIR and locks the metrics dir of the data dir: both kept to this
    # test (left set, the variable put every later app of the process into multiprocess metrics).
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))  # undone after the test
    held: list[Any] = []  # the lock the config takes is this test's, closed after it (not at interpreter exit)
    monkeypatch.setattr(observability, "_held_locks", held)
    try:
        config = runpy.run_path(str(PROJECT_ROOT / "deploy" / "gunicorn.conf.py"))
    finally:
        for lock in held:
            lock.close()
    # The app logs one JSON line per request itself; gunicorn's access log is off and its logger silenced.
    assert config["accesslog"] is None
    assert config["logconfig_dict"]["loggers"]["gunicorn.access"] == {
        "level": "WARNING", "handlers": [], "propagate": False}
    token = mint(ec_key())
    headers = bearer(token)
    # The control: had an access log format been set that logs the header or the query, the token would leak.
    for leaky in ('%(r)s', '%({authorization}i)s', '%(q)s'):
        assert token in access_line(leaky, headers, "/cds-services/nxp2-myositis", f"access_token={token}")
