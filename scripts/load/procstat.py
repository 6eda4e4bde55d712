"""Read what the load run measures about processes from /proc (Linux): memory, CPU time, sockets.

Plain /proc reads rather than psutil: psutil is not a dependency of the service, and the few fields
needed here (VmRSS, Pss, utime/stime, a process's sockets) are one line each.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2:].split()  # after "pid (comm) ": field 3 (state) is index 0


def children(pid: int) -> list[int]:
    """Return the pids whose parent is `pid`."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if int(_stat_fields(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError):
                continue  # gone meanwhile
    return sorted(found)


def cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """Return user + system CPU seconds of `pid` (and of its children it has waited for)."""
    values = _stat_fields(pid)
    ticks = int(values[11]) + int(values[12])  # utime, stime
    if reaped_children:
        ticks += int(values[13]) + int(values[14])  # cutime, cstime
    return ticks / CLK_TCK


def cpu_snapshot() -> dict[int, tuple[str, float]]:
    """Return pid -> (command, own CPU seconds) for every process (a reaped child's time is not counted:
    it may have run before the snapshot)."""
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                pid = int(entry.name)
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found[pid] = (" ".join(command.split())[:80] or "[kernel thread]", cpu_seconds(pid))
            except (OSError, ValueError, IndexError):
                continue
    return found


def top_others(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], ours: set[int],
               seconds: float, count: int = 3) -> list[tuple[str, int]]:
    """Return the `count` other processes that used most CPU between two snapshots, in % of one core."""
    used = [(after[pid][0], after[pid][1] - before.get(pid, ("", 0.0))[1]) for pid in after if pid not in ours]
    used.sort(key=lambda item: -item[1])
    return [(command, round(cpu / seconds * 100)) for command, cpu in used[:count] if cpu / seconds >= 0.01]


def machine_busy_seconds() -> float:
    """Return the CPU seconds all cores spent on anything but idle and iowait since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / CLK_TCK


def memory_kib(pid: int) -> tuple[int, int]:
    """Return (RSS, PSS) of `pid` in KiB. PSS shares the pages the workers share (preload_app) fairly."""
    rss = pss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            pss = int(line.split()[1])
    return rss, pss


def established_connections(pid: int, port: int) -> int:
    """Return how many ESTABLISHED TCP connections to local `port` the process `pid` holds open."""
    inodes = set()
    for fd in os.scandir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(fd.path)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            local_port = int(cols[1].rsplit(":", 1)[1], 16)
            if local_port == port and cols[3] == "01" and cols[9] in inodes:
                count += 1
    return count


@dataclass
class MemorySampler:
    """Sample the RSS and PSS of every child of `master` once a second, in a background thread."""

    master: int
    interval_s: float = 1.0
    # (seconds since start, {pid: (rss KiB, pss KiB)})
    samples: list[tuple[float, dict[int, tuple[int, int]]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            sample = {}
            for pid in children(self.master):
                try:
                    sample[pid] = memory_kib(pid)
                except OSError:
                    continue  # the worker exited between listing and reading
            self.samples.append((time.monotonic() - self._started, sample))
            self._stop.wait(self.interval_s)
