"""One figure over HTTP for `make bench`: gunicorn with deploy/gunicorn.conf.py, a call on a new connection.

Development mode (no JWT: the JWT check is measured by `make load`), 2 workers, SQLite in a temp dir,
a free port of 127.0.0.1. One client, sequential calls, each on its own TCP connection: median of the whole
exchange, against `orjson.loads` of the body under the same collector policy as the in-process table.
"""

from __future__ import annotations

import gc
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from bench.bodies import request_body
from scripts.load.serving import wait_for_healthz

ROOT = Path(__file__).resolve().parent.parent
URL = "/cds-services/nxp2-myositis"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _post(port: int, body: bytes) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", URL, body=body, headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        data = answer.read()
        if answer.status != 200:
            raise SystemExit(f"HTTP {answer.status}: {data[:300]!r}")
        return data
    finally:
        connection.close()


def _timed_calls(port: int, body: bytes, calls: int) -> tuple[list[float], list[float]]:
    """Each call, then `orjson.loads` of the body, in turn, with the collector off (as in a worker).

    In turn, as `make bench`'s in-process table times it: a parse timed in a loop of its own reuses memory still in
    the CPU's caches (2,000 read Observations: 6.8 ms, against 11.7 ms between calls, where the call's own
    decoding runs too). With the client's collector on, the collector ran during the parse of a large body
    (about 20 ms). Either baseline would misstate the ratio.
    """
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        times, parses = [], []
        for _ in range(calls):
            start = time.perf_counter()
            _post(port, body)
            times.append(time.perf_counter() - start)
            start = time.perf_counter()
            orjson.loads(body)
            parses.append(time.perf_counter() - start)
        return times, parses
    finally:
        if enabled:
            gc.enable()


def http_figure(observations: int, mix: str, calls: int = 60) -> dict[str, float]:
    """Start gunicorn, time `calls` sequential calls, print and return the medians."""
    body = request_body(observations, mix=mix)
    with tempfile.TemporaryDirectory() as workdir:
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
        env.update({"CDS_MODE": "development", "CDS_DATA_DIR": str(Path(workdir) / "data"), "CDS_WORKERS": "2"})
        log = Path(workdir) / "gunicorn.log"
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603  (our own gunicorn and arguments)
                [str(Path(sys.executable).with_name("gunicorn")), "--config", str(ROOT / "deploy/gunicorn.conf.py"),
                 "--bind", f"127.0.0.1:{port}", "cds_service.wsgi:app"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )
        try:
            wait_for_healthz(port, process, log, timeout_s=60)
            for _ in range(5):
                _post(port, body)  # warm both workers
            times, parses = _timed_calls(port, body, calls)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    over_http, parse = statistics.median(times), statistics.median(parses)
    print(f"\nover HTTP (gunicorn, 2 workers, new connection per call), {observations} '{mix}' Observations, "
          f"{len(body) / 1024:.0f} KB: {over_http * 1e3:.2f} ms median of {calls}; orjson.loads "
          f"{parse * 1e3:.2f} ms; ratio {over_http / parse:.2f}")
    return {"http_ms": over_http * 1e3, "parse_ms": parse * 1e3, "ratio": over_http / parse}
