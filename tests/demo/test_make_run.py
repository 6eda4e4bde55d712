"""`make run` itself, as a newcomer runs it: a second start never harms the first, and any signal to `make`
stops everything (the runner, gunicorn and the demo FHIR server), leaving both ports free.

Each test runs the real Makefile in this checkout on free ports, with CDS_DATA_DIR in a temporary folder,
in its own process session so a failing test can still clean up what it started.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.demo.conftest import ROOT, clean_env, fhir_state, get_json, start_dev
from tests.support.fhir_server import _OPENER, free_port

STOP_TIMEOUT_S = 60.0


def make_run(tmp: Path, port: int, fhir_port: int, data_dir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    log_path = tmp / f"make-run-{port}.log"
    env = clean_env(CDS_DATA_DIR=str(data_dir))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={port}", f"FHIR_PORT={fhir_port}", "WORKERS=1"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    return process, log_path


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def metrics(base_url: str) -> list[str]:
    with _OPENER.open(f"{base_url}/metrics", timeout=5) as response:
        assert response.status == 200
        return [line for line in response.read().decode().splitlines() if line and not line.startswith("#")]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_second_make_run_leaves_the_first_untouched(tmp_path: Path) -> None:
    fhir_port = free_port()
    first = start_dev(tmp_path, "--fhir-port", str(fhir_port), workers=1)
    try:
        assert get_json(f"{first.base_url}/cds-services")[0] == 200
        before = metrics(first.base_url)
        assert any(line.startswith("cds_") for line in before), before[:20]
        port = int(first.base_url.rsplit(":", 1)[1])

        # Same ports, same data folder: refused at once, naming each taken port and the way out.
        second, log_path = make_run(tmp_path, port, fhir_port, first.data_dir)
        assert second.wait(timeout=120) != 0
        log = log_path.read_text()
        assert f"port {port} on 127.0.0.1 (the service, CDS_BIND) is already in use" in log
        assert f"port {fhir_port} on 127.0.0.1 (the demo FHIR server) is already in use" in log
        assert "PORT=<port>" in log and "FHIR_PORT=<port>" in log
        assert "Traceback" not in log and "creating .venv" not in log  # checked before anything is installed

        # Free ports but the same data folder: refused too, before its metrics folder is emptied.
        third, log_path = make_run(tmp_path, free_port(), free_port(), first.data_dir)
        assert third.wait(timeout=120) != 0
        log = log_path.read_text()
        assert f"a running instance uses {first.data_dir}" in log and "CDS_DATA_DIR=<folder>" in log

        after = metrics(first.base_url)
        counted = {re.sub(r" [0-9.e+-]+$", "", line) for line in before if line.startswith("cds_")}
        assert counted <= {re.sub(r" [0-9.e+-]+$", "", line) for line in after}, "the first's metrics were lost"
        assert get_json(f"{first.base_url}/cds-services")[0] == 200
        assert fhir_state(first.base_url) == "ready"
        assert get_json(f"http://127.0.0.1:{fhir_port}/fhir/Patient/jdm-nxp2-gi-perforation-today")[0] == 200
    finally:
        assert first.stop() == 0


@pytest.mark.parametrize(("signum", "to_group"), [
    (signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGHUP, False), (signal.SIGKILL, False),
    (signal.SIGINT, True),  # Ctrl-C in a terminal: the whole foreground process group gets it
    (signal.SIGTERM, True),  # `kill -- -<pgid>`, as a process manager stops a group
], ids=lambda v: signal.Signals(v).name if isinstance(v, int) and not isinstance(v, bool) else
    ("group" if v else "make"))
def test_any_signal_to_make_stops_everything(tmp_path: Path, signum: int, to_group: bool) -> None:
    port, fhir_port = free_port(), free_port()
    make, log_path = make_run(tmp_path, port, fhir_port, tmp_path / "var")
    try:
        end = time.monotonic() + 180
        # Both servers up: the service answers and the demo FHIR server is at least loading.
        while fhir_state(f"http://127.0.0.1:{port}") not in {"loading", "ready"} or not listening(fhir_port):
            assert make.poll() is None, log_path.read_text()[-4000:]
            assert time.monotonic() < end, f"make run did not start:\n{log_path.read_text()[-4000:]}"
            time.sleep(0.2)
        if to_group:
            os.killpg(make.pid, signum)
        else:
            os.kill(make.pid, signum)  # make only, as `kill <pid of make>` does
        make.wait(timeout=STOP_TIMEOUT_S)
        end = time.monotonic() + STOP_TIMEOUT_S
        while (listening(port) or listening(fhir_port) or group_alive(make.pid)) and time.monotonic() < end:
            time.sleep(0.2)
        log = log_path.read_text()
        assert not listening(port), f"gunicorn still holds {port}:\n{log[-3000:]}"
        assert not listening(fhir_port), f"the demo FHIR server still holds {fhir_port}:\n{log[-3000:]}"
        assert not group_alive(make.pid), "a process of make run is still running"
        assert "run_dev: stopping (" in log and "demo FHIR server stopped" in log
        # gunicorn stops its workers itself: none is killed under it and started again while it stops (that
        # new worker then held the stop for the whole graceful_timeout).
        assert "Booting worker" not in log.split("run_dev: stopping (", 1)[1], log[-3000:]
    finally:
        if group_alive(make.pid):
            os.killpg(make.pid, signal.SIGKILL)
