"""Start the service as the image does (gunicorn with deploy/gunicorn.conf.py) on free ports, for the deploy tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cds_service.config import PROJECT_ROOT
from tests.support.fhir_server import free_port

BIN = Path(sys.executable).parent
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Served:
    base_url: str
    port: int
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 60) -> None:
    """Wait until `url` answers 200; fail with the log if the process exits or the time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            with _OPENER.open(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        assert time.monotonic() < deadline, f"{url} did not answer in {timeout_s} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.2)


@contextmanager
def gunicorn(workdir: Path, env: dict[str, str]) -> Iterator[Served]:
    """Run gunicorn with these CDS_* variables (CDS_BIND chosen here unless given) until the block ends."""
    port = free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    full |= {"CDS_BIND": f"127.0.0.1:{port}", "CDS_WORKERS": "2", "CDS_DATA_DIR": str(workdir / "data"),
             "CDS_CATALOGUE_DIR": str(PROJECT_ROOT / "cards")} | env
    port = int(full["CDS_BIND"].rsplit(":", 1)[1])
    log = workdir / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", str(PROJECT_ROOT / "deploy" / "gunicorn.conf.py"),
             "cds_service.wsgi:app"], env=full, stdout=out, stderr=subprocess.STDOUT, cwd=workdir,
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", process, log)
        yield Served(f"http://127.0.0.1:{port}", port, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
