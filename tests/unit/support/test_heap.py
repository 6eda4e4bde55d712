"""Freed memory is kept for the next call: no page faults for memory a process already used (glibc)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cds_service.support.heap import keep_freed_memory

# Each round allocates 8 MiB in 4 KiB blocks (from the heap, as a call's lists, dicts and strings are), touching
# every page, and frees them; prints the minor page faults of the last 20 rounds (the first one maps new memory).
ROUNDS = """
import resource, sys
from cds_service.support.heap import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def call():
    blocks = [bytearray(4096) for _ in range(2048)]  # zero-filled: every page touched
    del blocks
call()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    call()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", ROUNDS, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_blocks_are_reused_without_page_faults() -> None:
    assert faults("default") >= 20 * 1024  # the freed top of the heap went back: about 2,000 pages a round
    assert faults("keep") < 100


def test_it_reports_whether_the_c_library_took_the_settings() -> None:
    assert keep_freed_memory() is sys.platform.startswith("linux")
