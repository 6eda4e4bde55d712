"""`make bench` keeps working for the worklist: a tiny synthetic export, generated and run end to end
(no timing is asserted here; the figures come from `bench/worklist.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.worklist import measure


def test_the_worklist_benchmark_runs_and_finds_the_positive_patients(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    figures = measure(400, tmp_path)
    printed = capsys.readouterr().out
    assert figures["candidates"] == 4  # 1% of 400
    assert figures["due"] == 4  # each synthetic positive patient is due at least one card
    assert "patients/s" in printed and "peak RSS" in printed and "MB" in printed
