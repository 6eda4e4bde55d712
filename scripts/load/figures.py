"""The figures of a load run (scripts/load/run.py): wrk's result, the memory samples and CPU times summed up,
printed for a person, and judged against the targets of docs/performance.md."""

from __future__ import annotations

import argparse
import os
from typing import Any

from procstat import MemorySampler

P99_TARGET_MS = 100.0
FLAT_MEMORY_PERCENT = 5.0  # last-minute mean RSS at most this much above the first minute's


def per_second(result: dict[str, Any]) -> list[int]:
    counts = {int(k): v for k, v in result["per_second"].items()}
    if not counts:
        return []
    first = min(counts)
    return [counts.get(first + i, 0) for i in range(max(counts) - first + 1)]


def count_errors(result: dict[str, Any]) -> int:
    """Return failed calls: non-2xx answers, 200s without cards, and socket errors and timeouts."""
    errors = result["errors"]
    non_2xx = sum(v for k, v in result["statuses"].items() if not 200 <= int(k) < 300)
    return non_2xx + result["no_cards"] + sum(errors[k] for k in ("connect", "read", "write", "timeout"))


def summarise(result: dict[str, Any], sampler: MemorySampler, cpu: dict[str, float],
              args: argparse.Namespace) -> dict[str, Any]:
    """Turn wrk's result, the memory samples and the CPU times into the figures."""
    seconds = result["duration_us"] / 1e6
    latency = {k: round(v / 1000, 2) for k, v in result["latency_us"].items()}
    window = min(60.0, seconds / 4)
    samples = [(t, s) for t, s in sampler.samples if s]

    def mean_rss(start: float, end: float) -> float:
        values = [rss for t, s in samples if start <= t < end for rss, _ in s.values()]
        return sum(values) / len(values) / 1024 if values else 0.0

    peak_by_pid: dict[int, int] = {}
    for _, sample in samples:
        for pid, (rss, _) in sample.items():
            peak_by_pid[pid] = max(peak_by_pid.get(pid, 0), rss)
    first, last = mean_rss(0, window), mean_rss(seconds - window, seconds + 1)
    pss = [p for _, s in samples for _, p in s.values()]
    return {
        "duration_s": round(seconds, 1),
        "clients": args.clients,
        "workers": args.workers,
        "requests": result["requests"],
        "small": result["small"],
        "large": result["large"],
        "throughput_rps": round(result["requests"] / seconds, 1),
        "latency_ms": latency,
        "errors": count_errors(result),
        "statuses": result["statuses"],
        "socket_errors": result["errors"],
        "no_cards": result["no_cards"],
        "exhausted": result["exhausted"],
        "memory_mib": {
            "peak_rss_per_worker": round(max(peak_by_pid.values(), default=0) / 1024, 1),
            "peak_pss_per_worker": round(max(pss, default=0) / 1024, 1),
            "window_s": round(window),
            "first_window_mean_rss": round(first, 1),
            "last_window_mean_rss": round(last, 1),
            "growth_percent": round((last - first) / first * 100, 1) if first else None,
            "workers_seen": len(peak_by_pid),
            "samples": len(samples),
        },
        "cpu_percent_of_one_core": {k.removesuffix("_s"): round(v / seconds * 100) for k, v in cpu.items()}
        | {"others": max(0, round((2 * cpu["machine_s"] - sum(cpu.values())) / seconds * 100))},
    }


def backend_name() -> str:
    """Name the database the run used (the URL's host and database, never its password)."""
    url = os.environ.get("CDS_DATABASE_URL", "")
    if not url:
        return "SQLite (CDS_DATA_DIR in the temp dir)"
    return f"PostgreSQL at {url.rpartition('@')[2]}"


def report(figures: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """Return the figures as lines for a person, and the verdicts."""
    lat, mem, cpu = figures["latency_ms"], figures["memory_mib"], figures["cpu_percent_of_one_core"]
    sizes = figures["body_bytes"]
    lines = [
        f"nxp2-cds load ({args.mode}): {figures['duration_s']} s, {figures['clients']} clients (wrk, "
        f"{args.threads} threads, closed loop), gunicorn {figures['workers']} workers, "
        f"CDS_MODE=production, ES384 JWT per call, {backend_name()}",
        f"  calls: {figures['requests']} answered ({figures['small']} small {sizes['small'][0] // 1024}-"
        f"{sizes['small'][1] // 1024} KiB, {figures['large']} large {sizes['large'][1] // 1024} KiB with 500 "
        f"Observations: every {args.large_every}th)",
        f"  throughput: {figures['throughput_rps']} calls/s",
        f"  latency: p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms, p99.9 {lat['p999']} ms, "
        f"max {lat['max']} ms",
        f"  errors: {figures['errors']} (statuses {figures['statuses']}, socket {figures['socket_errors']}, "
        f"200 without cards {figures['no_cards']})",
        f"  memory per worker: peak RSS {mem['peak_rss_per_worker']} MiB (PSS {mem['peak_pss_per_worker']} MiB); "
        f"mean RSS first {mem['window_s']} s {mem['first_window_mean_rss']} MiB, last {mem['window_s']} s "
        f"{mem['last_window_mean_rss']} MiB ({mem['growth_percent']:+}%); {mem['workers_seen']} worker processes "
        f"seen, {figures['worker_boots']} boots in the log",
        f"  CPU (% of one core; the machine has {os.cpu_count()}): service {cpu['service']}%, wrk {cpu['wrk']}%, "
        f"this driver {cpu['driver']}%, other processes {cpu['others']}% (most: "
        + (", ".join(f"{command} {percent}%" for command, percent in figures["top_other_processes"]) or "none")
        + f"); 1-min load average {figures['loadavg_1min'][0]} before, {figures['loadavg_1min'][1]} after",
        f"  tokens: {figures['tokens_signed']} ES384 JWTs signed before the run in {figures['signing_s']} s "
        f"(warm-up rate {figures['warmup_rate']} calls/s)",
    ]
    kill = figures["kill"]
    if kill is not None:
        replaced = kill["replaced_after_s"]
        lines += [
            f"  kill: worker {kill['pid']} SIGKILLed at {kill['at_s']:.1f} s with {kill['in_flight']} call(s) in "
            f"flight; replaced after {'never' if replaced is None else f'{replaced:.2f} s'}; failed calls: "
            f"{figures['errors']}",
            f"  calls answered per second: {figures['per_second']}",
        ]
    lines.append("  verdict: " + "; ".join(f"{name}: {'met' if ok else 'NOT MET'}" for name, ok in verdicts(figures)))
    return lines


def verdicts(figures: dict[str, Any]) -> list[tuple[str, bool]]:
    kill, mem = figures["kill"], figures["memory_mib"]
    if kill is not None:
        errors = ("failures only in flight", figures["errors"] <= kill["in_flight"] and not figures["exhausted"])
        restarted = ("worker replaced", kill["replaced_after_s"] is not None)
        return [errors, restarted]
    return [
        ("zero errors", figures["errors"] == 0 and not figures["exhausted"]),
        (f"p99 < {P99_TARGET_MS:.0f} ms", figures["latency_ms"]["p99"] < P99_TARGET_MS),
        (f"memory flat (< {FLAT_MEMORY_PERCENT:.0f}% growth)",
         mem["growth_percent"] is not None and mem["growth_percent"] < FLAT_MEMORY_PERCENT),
    ]
