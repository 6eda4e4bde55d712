"""The real demo stack for the demo tests: `scripts/run_dev.py` (what `make run` starts) on free ports.

One session-wide stack: a sekmet FHIR server on 127.0.0.1 loaded with every fixture of fhir_fixtures/,
and gunicorn serving the service in development mode with its SQLite store in a temporary folder, which
the tests read to check the feedback the page sent.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.fhir_server import free_port

ROOT = Path(__file__).resolve().parents[2]
RUN_DEV = ROOT / "scripts" / "run_dev.py"
START_TIMEOUT_S = 180.0  # the first run may install sekmet into .venv-fhir; then ~100 patients are loaded
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get_json(url: str, timeout: float = 5.0) -> tuple[int, Any]:
    """GET a URL on loopback; return (status, parsed JSON or None)."""
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            body = error.read()
        try:
            return error.code, json.loads(body or b"null")
        except json.JSONDecodeError:
            return error.code, None


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any CDS_*, port or make variable of the caller, plus `extra`."""
    own = {"FHIR_PORT", "PORT", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_") and k not in own}
    return env | extra


def fhir_state(base_url: str) -> str | None:
    """The demo FHIR server's state as /demo/config tells the page (None: no status or no answer)."""
    try:
        status, config = get_json(f"{base_url}/demo/config", timeout=2)
    except OSError:
        return None
    if status != 200 or not config.get("fhirServer"):
        return "none" if status == 200 else None
    return (config.get("fhirStatus") or {}).get("state")


@dataclass
class RunningDev:
    """One `run_dev.py` process and where it listens."""

    process: subprocess.Popen[bytes]
    base_url: str
    data_dir: Path
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout_s: float = 30.0) -> int:
        """Send SIGTERM (as a process manager would) and return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise

    def feedback_rows(self) -> list[dict[str, Any]]:
        """Every row of the feedback table, read straight from the SQLite store."""
        connection = sqlite3.connect(f"file:{self.data_dir / 'feedback.sqlite3'}?mode=ro", uri=True)
        try:
            connection.row_factory = sqlite3.Row
            rows = connection.execute(
                "SELECT card_uuid, card_id, known_card, outcome, body FROM feedback"
            ).fetchall()
        finally:
            connection.close()
        return [dict(row) | {"body": json.loads(row["body"])} for row in rows]


def start_dev(tmp: Path, *args: str, workers: int = 2, ready_timeout_s: float = START_TIMEOUT_S) -> RunningDev:
    """Start run_dev.py on a free port and wait until the demo FHIR server is loaded (or has failed)."""
    port = free_port()
    data_dir = tmp / "var"
    log_path = tmp / "run_dev.log"
    env = clean_env(CDS_DATA_DIR=str(data_dir), CDS_BIND=f"127.0.0.1:{port}", CDS_WORKERS=str(workers))
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, str(RUN_DEV), *args], env=env, cwd=ROOT,
                                   stdout=log, stderr=subprocess.STDOUT)
    running = RunningDev(process, f"http://127.0.0.1:{port}", data_dir, log_path)
    end = time.monotonic() + ready_timeout_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise AssertionError(f"run_dev.py exited ({process.returncode}):\n{running.log()[-4000:]}")
        if fhir_state(running.base_url) in {"ready", "failed", "none"}:
            return running
        time.sleep(0.2)
    running.stop()
    raise AssertionError(f"run_dev.py was not ready within {ready_timeout_s} s:\n{running.log()[-4000:]}")


@pytest.fixture(scope="session")
def demo_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDev]:
    """The demo stack of `make run`, with every fixture patient loaded, for the whole session."""
    running = start_dev(tmp_path_factory.mktemp("demo-stack"), "--fhir-port", str(free_port()))
    try:
        _, config = get_json(f"{running.base_url}/demo/config")
        assert config["fhirServer"], f"the demo FHIR server did not start:\n{running.log()[-4000:]}"
        yield running
    finally:
        running.stop()


CHROMIUM = Path("/usr/bin/chromium")
# Debian's chromium, headless, with nothing that reaches for the network (there is none here).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
