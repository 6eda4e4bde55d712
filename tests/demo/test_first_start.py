"""The first `make run` on a fresh clone, timed: scripts/first_start.py (`make first-start`) as a test.

It clones this checkout into a temporary folder, empties every package cache, leaves uv to the Makefile to
install, and prints the seconds until discovery answers and until the demo patients are loaded: a figure for
the notes, not a timed assertion. It downloads every package again (a few hundred MB) and takes one to two
minutes of both cores, so `make test` leaves it out; run it with `NXP2_FIRST_START=1 .venv/bin/pytest -s
tests/demo/test_first_start.py`, or `make first-start`.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.demo.conftest import ROOT


@pytest.mark.skipif(os.environ.get("NXP2_FIRST_START") != "1",
                    reason="downloads every package again; NXP2_FIRST_START=1 runs it (or `make first-start`)")
def test_first_make_run_on_a_fresh_clone_answers_and_loads_the_patients() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "first_start.py"), "--timeout", "900"],
                            capture_output=True, text=True, timeout=1200, check=False)
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    figure = result.stdout.strip().splitlines()[-1]
    assert "service answered discovery after" in figure and "never" not in figure, figure
