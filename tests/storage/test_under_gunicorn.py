"""The service as the container runs it (gunicorn, deploy/gunicorn.conf.py, preloaded app, 2 forked
workers) on each backend: concurrent feedback through both workers is stored exactly once, and the
container's health check script passes. Docker itself cannot run here; this runs the image's command."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from cds_service.config import PROJECT_ROOT, Settings
from tests.storage import raw
from tests.storage.pgserver import free_port
from tests.storage.workers import feedback_item

BIN = Path(sys.executable).parent
DEPLOY = PROJECT_ROOT / "deploy"


def healthcheck(env: dict[str, str]) -> int:
    return subprocess.run([sys.executable, str(DEPLOY / "healthcheck.py")], env=env, capture_output=True,
                          timeout=10).returncode


@pytest.fixture
def served(storage_settings: Settings, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Start gunicorn like the image's CMD; yield its base URL and environment."""
    bind = f"127.0.0.1:{free_port()}"
    env = {
        "PATH": os.environ.get("PATH", ""), "CDS_BIND": bind, "CDS_WORKERS": "2", "CDS_MODE": "development",
        "CDS_PUBLIC_BASE_URL": f"http://{bind}", "CDS_CATALOGUE_DIR": str(PROJECT_ROOT / "cards"),
        "CDS_DATA_DIR": str(storage_settings.data_dir), "CDS_DATABASE_URL": storage_settings.database_url,
    }
    assert healthcheck(env) == 1  # nothing listens yet: the check must fail
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", str(DEPLOY / "gunicorn.conf.py"), "cds_service.wsgi:app"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 30
        while healthcheck(env) != 0:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            assert time.monotonic() < deadline, "gunicorn did not become healthy in 30 s"
            time.sleep(0.2)
        yield f"http://{bind}", env
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_feedback_through_two_gunicorn_workers_is_stored_once(
    served: tuple[str, dict[str, str]], storage_settings: Settings
) -> None:
    base, env = served
    url = f"{base}/cds-services/nxp2-myositis/feedback"
    # 40 requests of 3 items from 4 threads; each of the 40 items is in three different requests.
    requests_body = [{"feedback": [feedback_item(f"card-{(r + k) % 40}", (r + k) % 40) for k in range(3)]}
                     for r in range(0, 40)]

    def send(body: dict[str, object]) -> tuple[int, dict[str, int]]:
        response = requests.post(url, json=body, timeout=10)
        return response.status_code, response.json()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(send, requests_body))
    assert {status for status, _ in results} == {200}
    assert sum(body["stored"] for _, body in results) == 40
    assert sum(body["duplicates"] for _, body in results) == 80
    assert raw.rows(storage_settings, "SELECT COUNT(*) FROM feedback") == [(40,)]
    assert healthcheck(env) == 0
