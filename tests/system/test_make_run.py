"""`make run` for real: gunicorn with two workers on a free 127.0.0.1 port, data in tmp, checked over HTTP.

Runs the Makefile's own `run` recipe (told not to reinstall the virtualenv this test runs in), then stops
the whole process group. A few seconds: gunicorn loads the app once and forks.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from cds_service.config import PROJECT_ROOT
from cds_service.protocol import ServiceDefinition
from cds_service.tools.hook_request import build_request

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 120  # a bound against hanging, not a speed target: a loaded 2-core machine is slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def clean_env(**values: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("CDS_", "PROMETHEUS_"))}
    return env | values


def make_run(port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    command = ["make", "--no-print-directory", "-o", f"{BIN}/activate", "run",
               f"BIN={BIN}", "HOST=127.0.0.1", f"PORT={port}", f"FHIR_PORT={free_port()}", "WORKERS=2"]
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


@dataclass
class Server:
    base: str
    data_dir: Path
    process: subprocess.Popen[str]
    stdout: str = ""
    stderr: str = ""


def kill_group(process: subprocess.Popen[str]) -> None:
    """Kill what is left of the process group we started (make, its shell, gunicorn and its workers)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.communicate()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("var")
    stale = data_dir / "prometheus" / "counter_999999.db"
    stale.parent.mkdir()
    stale.write_bytes(b"left by a previous run")
    port = free_port()
    process = make_run(port, clean_env(CDS_DATA_DIR=str(data_dir)))
    running = Server(f"http://127.0.0.1:{port}", data_dir, process)
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            if process.poll() is not None:
                out, err = process.communicate()
                pytest.fail(f"make run exited with {process.returncode}:\n{out}\n{err}")
            try:
                if requests.get(f"{running.base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("make run did not answer /healthz in time")
            time.sleep(0.1)
        yield running
    finally:
        running.stdout, running.stderr = stop(process)


def metric(base: str, sample: str) -> float:
    for line in requests.get(f"{base}/metrics", timeout=5).text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_discovery_health_and_a_call_over_http(server: Server) -> None:
    discovery = requests.get(f"{server.base}/cds-services", timeout=5)
    assert discovery.status_code == 200
    (service,) = discovery.json()["services"]
    assert service["id"] == "nxp2-myositis"
    assert requests.get(f"{server.base}/healthz", timeout=5).json() == {"status": "ok",
                                                                         "checks": {"process": "ok"}}
    assert requests.get(f"{server.base}/readyz", timeout=5).json() == {"status": "ok",
                                                                        "checks": {"database": "ok"}}
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01"}
    body = build_request({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient}]},
                         ServiceDefinition.model_validate(service))
    call = requests.post(f"{server.base}/cds-services/nxp2-myositis", json=body, timeout=5)
    assert (call.status_code, call.headers["Content-Type"]) == (200, "application/json")
    assert "cards" in call.json()
    assert (server.data_dir / "feedback.sqlite3").exists()


def test_cors_preflight_and_headers_over_http(server: Server) -> None:
    origin = "https://sandbox.cds-hooks.org"
    preflight = requests.options(f"{server.base}/cds-services/nxp2-myositis/feedback", timeout=5, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    get = requests.get(f"{server.base}/cds-services", headers={"Origin": origin}, timeout=5)
    assert get.headers["Access-Control-Allow-Origin"] == origin


def get_while_a_worker_is_held(base: str) -> int:
    """Make both sync workers serve: hold one with an idle connection while the other answers; return 2."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as held:
        time.sleep(0.2)  # one worker accepts it and waits for the request line
        assert requests.get(f"{base}/openapi.json", timeout=5).ok  # so the other worker answers this one
        held.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: " + host.encode() + b"\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := held.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200"), reply[:100]
    return 2


def test_metrics_add_up_across_workers(server: Server) -> None:
    sample = 'cds_http_requests_total{method="GET",route="/openapi.json",status="200"}'
    folder = server.data_dir / "prometheus"

    def workers_counted() -> int:
        return sum(1 for path in folder.iterdir() if path.name.startswith("counter_"))

    before = metric(server.base, sample)
    sent = 0
    for _ in range(5):  # the hold can lose a race on a busy machine: try again
        sent += get_while_a_worker_is_held(server.base)
        if workers_counted() >= 2:
            break
    for _ in range(6):
        assert requests.get(f"{server.base}/openapi.json", timeout=5).ok
        sent += 1
    assert workers_counted() >= 2
    assert metric(server.base, sample) == before + sent
    assert not (folder / "counter_999999.db").exists(), "the multiprocess folder must be emptied at start"


def test_start_up_was_announced_and_logs_are_json(server: Server) -> None:
    # Runs last in the module: stop the server to read everything it wrote.
    out, err = stop(server.process)
    assert "DEVELOPMENT MODE" in server.stdout + out
    lines = [line for line in (server.stderr + err).splitlines() if line.startswith("{")]
    records: list[dict[str, Any]] = [json.loads(line) for line in lines]
    assert any(r["logger"] == "gunicorn.error" and "Booting worker" in r["message"] for r in records)
    requests_logged = [r for r in records if r["logger"] == "cds_service.request"]
    assert {r["route"] for r in requests_logged} >= {"/cds-services", "/healthz", "/metrics"}
    assert all({"timestamp", "level", "status", "duration_ms"} <= set(r) for r in requests_logged)


def test_a_malformed_setting_stops_make_run(tmp_path: Path) -> None:
    process = make_run(free_port(), clean_env(CDS_DATA_DIR=str(tmp_path), CDS_MAX_BODY_BYTES="lots"))
    try:
        _, err = process.communicate(timeout=60)
    finally:
        kill_group(process)  # never leave a server behind, even when it wrongly started
    assert process.returncode != 0
    assert "CDS_MAX_BODY_BYTES='lots' is not valid" in err


def test_a_malformed_setting_stops_gunicorn_itself(tmp_path: Path) -> None:
    env = clean_env(CDS_DATA_DIR=str(tmp_path), CDS_WORKERS="zero", CDS_BIND=f"127.0.0.1:{free_port()}")
    process = subprocess.Popen([str(BIN / "gunicorn"), "--config", "deploy/gunicorn.conf.py", "cds_service.wsgi:app"],
                               cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        _, err = process.communicate(timeout=60)
    finally:
        kill_group(process)
    assert process.returncode != 0
    assert "CDS_WORKERS='zero' is not valid" in err
