"""gunicorn as deployed (deploy/gunicorn.conf.py, its EdgeWorker, 2 workers), reached through raw sockets.

A client library would hide what these tests look at: how the bytes are framed, when the server answers,
whether it closes the connection.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from cds_service.cards.catalogue import load_catalogue
from cds_service.config import PROJECT_ROOT, Settings
from cds_service.rules import REGISTRY
from cds_service.tools.hook_request import build_request
from tests.storage.pgserver import free_port

BIN = Path(sys.executable).parent
SERVICE_ID = "nxp2-myositis"
SERVICE = f"/cds-services/{SERVICE_ID}"
FEEDBACK = f"{SERVICE}/feedback"
FIXTURE = PROJECT_ROOT / "fhir_fixtures" / "adult-nxp2-dm-onset-8-months-no-ct.json"


@functools.cache
def valid_call() -> bytes:
    """A patient-view call of the real service with every prefetch key filled (a fixture patient)."""
    catalogue = load_catalogue(Settings().catalogue_dir, REGISTRY)
    definition = next(d for d in catalogue.service_definitions() if d.id == SERVICE_ID)
    return orjson.dumps(build_request(orjson.loads(FIXTURE.read_bytes()), definition,
                                      hook_instance="6f1c3b0e-2f4b-4f0e-9a51-7d1d2c1e0a11"))


@dataclass
class Served:
    port: int
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def error_lines(self) -> list[str]:
        """Log lines at ERROR or above, and any line that is not one of our JSON lines (a traceback)."""
        bad = []
        for line in self.log().splitlines():
            try:
                level = json.loads(line).get("level")
            except ValueError:
                level = "NOT JSON"
            if level not in {"DEBUG", "INFO", "WARNING"}:
                bad.append(line)
        return bad


def start(tmp_path: Path, env_overrides: dict[str, str]) -> tuple[subprocess.Popen[bytes], Served]:
    port = free_port()
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    env |= {"CDS_BIND": f"127.0.0.1:{port}", "CDS_WORKERS": "2", "CDS_MODE": "development",
            "CDS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "CDS_DATA_DIR": str(data)} | env_overrides
    served = Served(port, tmp_path / f"gunicorn-{port}.log")
    with served.log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", str(PROJECT_ROOT / "deploy" / "gunicorn.conf.py"),
             "cds_service.wsgi:app"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    deadline = time.monotonic() + 120  # generous: the machine may be busy
    try:
        while True:
            assert process.poll() is None, served.log()
            assert time.monotonic() < deadline, f"gunicorn did not answer /healthz in 120 s:\n{served.log()}"
            try:
                with urllib.request.urlopen(f"{served.base}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return process, served
            except OSError:
                time.sleep(0.2)
    except BaseException:
        process.kill()
        process.wait(timeout=30)
        raise


ServerFactory = Callable[..., Served]


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFactory]:
    """Start gunicorn with `CDS_*` overrides (one server per distinct set, for the module)."""
    running: dict[tuple[tuple[str, str], ...], tuple[subprocess.Popen[bytes], Served]] = {}

    def factory(**env: str) -> Served:
        key = tuple(sorted(env.items()))
        if key not in running:
            running[key] = start(tmp_path_factory.mktemp("gunicorn"), dict(env))
        return running[key][1]

    yield factory
    for process, _ in running.values():
        process.terminate()
    for process, _ in running.values():
        process.wait(timeout=30)
