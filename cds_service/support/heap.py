"""Keep the memory a call freed for the next call, instead of giving it back to the kernel after each (glibc).

Why: a hook call allocates and frees megabytes (the body, its decoded resources, the facts, copies of the
bytes). glibc returns a freed block above its mmap threshold (128 KiB, raised only as such blocks are freed)
and free space above 128 KiB at the top of a heap to the kernel at once, so the next call maps the same
memory again and pays a page fault for every 4 KiB page it touches: 760 faults a call at 500 Observations
and 3,100 at 2,000 (getrusage), a sixth to a fifth of the call. With both thresholds raised a serving
process takes no fault in a steady run, and its peak RSS is unchanged: what it keeps is what its largest
calls used (docs/performance.md, "Third pass").

`mallopt` is glibc's own interface; this is a ctypes call to it, no library wraps it. Elsewhere (musl,
macOS) nothing is changed and `keep_freed_memory` says so.
"""

from __future__ import annotations

import ctypes
from typing import Final

# glibc's malloc.h
M_TRIM_THRESHOLD: Final = -1
M_MMAP_THRESHOLD: Final = -3

# Blocks up to 32 MiB (the most glibc accepts: HEAP_MAX_SIZE / 2 on 64-bit) come from the heap and stay there
# when freed; a larger one (no call of ours at the body limits) is still mapped and unmapped on its own.
MMAP_THRESHOLD_BYTES: Final = 32 * 1024 * 1024
# Up to 64 MiB free at the top of a heap is kept rather than trimmed.
TRIM_THRESHOLD_BYTES: Final = 64 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process (and the processes it forks later).

    Returns False, changing nothing, where the C library has no `mallopt` or refuses a value.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter already runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success, 0 on an error (musl's stub always returns 0).
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
