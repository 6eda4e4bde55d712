"""`make bench` keeps working: the benchmark runs end to end at a tiny size (no timing is asserted here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.evaluation import measure, request_body
from cds_service.app import build_services
from cds_service.config import Settings
from cds_service.support.clock import FixedClock
from cds_service.support.ids import SequentialIds
from tests.conftest import NOW


def test_the_benchmark_runs_and_prints_its_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    services = build_services(Settings(mode="development", data_dir=tmp_path), clock=FixedClock(NOW),
                              ids=SequentialIds())
    ratio = measure(services, gc_on=True, sizes=(20,))
    printed = capsys.readouterr().out
    assert ratio > 0
    assert "orjson.loads ms" in printed and "evaluation ms" in printed
    assert len(request_body(20)) > 0
