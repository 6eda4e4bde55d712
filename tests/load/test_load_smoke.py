"""A few seconds of `make load` and `make load-kill`, so the load tooling cannot rot (about 20 s).

The real figures come from the 5-minute run (docs/performance.md); these only check that the run works
end to end: gunicorn with production settings, signed JWTs, wrk, the figures printed, no failed call.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def load_run(tmp_path: Path, *args: str) -> tuple[str, dict[str, Any]]:
    assert shutil.which("wrk"), "the load tool needs wrk: make wrk (apt-get install wrk)"
    figures = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts/load/run.py"), "--warmup", "1", "--json", str(figures), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, json.loads(figures.read_text())


def test_a_short_load_run_prints_its_figures_and_no_call_fails(tmp_path: Path) -> None:
    output, figures = load_run(tmp_path, "--duration", "4")
    for label in ("throughput:", "latency: p50", "p95", "p99", "errors: 0", "peak RSS", "first", "last", "wrk"):
        assert label in output
    assert "zero errors: met" in output
    assert figures["errors"] == 0 and figures["statuses"] == {"200": figures["requests"]}
    assert figures["small"] > 0 and figures["large"] > 0
    assert figures["memory_mib"]["samples"] >= 3 and figures["memory_mib"]["peak_rss_per_worker"] > 0
    assert figures["latency_ms"]["p50"] <= figures["latency_ms"]["p99"]


def test_killing_a_worker_fails_only_the_calls_it_had_in_flight(tmp_path: Path) -> None:
    output, figures = load_run(tmp_path, "--mode", "kill", "--duration", "4")
    kill = figures["kill"]
    assert "SIGKILLed" in output and "failures only in flight: met" in output
    # A threaded worker keeps its connections alive, so it may hold several of wrk's 8 (a sync worker held one).
    assert kill["replaced_after_s"] is not None and 1 <= kill["in_flight"] <= 8
    assert figures["errors"] <= kill["in_flight"]
    assert figures["statuses"] == {"200": figures["requests"]}  # a failure is a broken connection, never an answer
    assert figures["requests"] > 0


def test_workers_recycled_under_load_fail_no_call(tmp_path: Path) -> None:
    """A worker that stops after max_requests keeps its idle kept-alive connections for a moment: the next
    call already on its way is answered ("Connection: close"), never cut (wrk counted read errors before)."""
    output, figures = load_run(tmp_path, "--duration", "6", "--max-requests", "100")
    assert figures["worker_boots"] >= 3, output  # the 2 first workers and a replacement (max_requests has jitter)
    assert figures["errors"] == 0 and figures["socket_errors"]["read"] == 0, output
