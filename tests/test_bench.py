"""`make bench` keeps working: the benchmark runs end to end at a tiny size (no timing is asserted here)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from bench.bodies import MIXES, request_body
from bench.evaluation import STEPS, measure
from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.support.clock import FixedClock
from cds_service.support.ids import SequentialIds
from tests.conftest import NOW


@pytest.mark.parametrize("mix", MIXES)
def test_the_benchmark_runs_and_prints_its_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mix: str
) -> None:
    app = create_app(Settings(mode="development", data_dir=tmp_path), clock=FixedClock(NOW), ids=SequentialIds())
    (row,) = measure(app, mix, sizes=(20,), scale=20)
    printed = capsys.readouterr().out
    assert row["observations"] == 20 and row["parse_ms"] > 0 and row["call_ms"] > 0
    assert all(f"{name}_ms" in row for name in STEPS)
    assert "orjson ms" in printed and "call ms" in printed


def test_the_read_mix_is_all_results_the_cards_read() -> None:
    entries = orjson.loads(request_body(40, mix="read"))["prefetch"]["observations"]["entry"]
    codes = {e["resource"]["code"]["coding"][0]["code"] for e in entries}
    assert codes == {"MYO-NXP2", "2157-6", "2276-4", "777-3", "1920-8"}  # anti-NXP2, CK, ferritin, platelets, AST
    assert request_body(40, mix="read") == request_body(40, mix="read")  # fixed seed
