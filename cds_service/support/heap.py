"""Keep the memory a call freed for the next call, instead of giving it back to the kernel after each (glibc).

Why: a hook call allocates and frees megabytes (the body, its decoded resources, the facts, copies of the
bytes). glibc returns a freed block above its mmap threshold (128 KiB, raised only as such blocks are freed)
and free space above 128 KiB at the top of a heap to the kernel at once, so the next call maps the same
memory again and pays a page fault for every 4 KiB page it touches: 760 faults a call at 500 Observations
and 3,100 at 2,000 (getrusage), a sixth to a fifth of the call. With both thresholds raised a serving
process takes no fault in a steady run; with one arena shared by its threads, what it keeps is about what
its largest concurrent calls used, as before (docs/performance.md, "Third pass").

`mallopt` is glibc's own interface; this is a ctypes call to it, no library wraps it. Elsewhere (musl,
macOS) nothing is changed and `keep_freed_memory` says so.
"""

from __future__ import annotations

import ctypes
from typing import Final

# glibc's malloc.h
M_TRIM_THRESHOLD: Final = -1
M_MMAP_THRESHOLD: Final = -3
M_ARENA_MAX: Final = -8

# Blocks up to 32 MiB (the most glibc accepts: HEAP_MAX_SIZE / 2 on 64-bit) come from the heap and stay there
# when freed; a larger one (no call of ours at the body limits) is still mapped and unmapped on its own.
MMAP_THRESHOLD_BYTES: Final = 32 * 1024 * 1024
# Up to 64 MiB free at the top of a heap is kept rather than trimmed.
TRIM_THRESHOLD_BYTES: Final = 64 * 1024 * 1024
# One arena for every thread. With an arena per request thread (glibc's default), each would keep what the
# largest call it served used: 8 clients sending 0.05-4.4 MB bodies left the workers at 321-334 MiB after the
# run (208-224 MiB before this module), against 229-253 MiB with one arena, at the same speed. The GIL already
# serializes Python's allocations, so the one arena's lock is seldom contended.
ARENAS: Final = 1


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds and share one arena among threads, for this process and the
    processes it forks later (gunicorn's workers: their request threads start after the fork).

    Returns False where the C library has no `mallopt` (nothing is changed) or refuses one of the values.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter already runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success, 0 on an error (musl's stub always returns 0).
    settings = (
        (M_ARENA_MAX, ARENAS), (M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES), (M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
    )
    return all([bool(mallopt(option, value)) for option, value in settings])  # a list: every one is tried
