"""Wait for a gunicorn started by a load or benchmark script to answer /healthz (shared by bench/over_http.py,
scripts/load/run.py, scripts/load/outage.py and scripts/hostile/slow_clients.py). Standard library only: each
caller imports it from its own path."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def wait_for_healthz(
    port: int, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 120.0,
    ready: Callable[[], bool] = lambda: True,
) -> None:
    """Return once /healthz answers 200 and `ready()` holds; exit with gunicorn's log if it died, or after
    `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited at start-up; its log:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            with _OPENER.open(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200 and ready():
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"gunicorn did not answer /healthz within {timeout_s:g} s")
