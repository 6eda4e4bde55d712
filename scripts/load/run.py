"""Load figures of the service under gunicorn with its production settings: `make load`, `make load-kill`.

    .venv/bin/python scripts/load/run.py [--duration 300] [--mode steady|kill] [--clients 8] [--json FILE]

Starts gunicorn (deploy/gunicorn.conf.py, CDS_MODE=production, JWT on, SQLite in a temp dir, or the
PostgreSQL of CDS_DATABASE_URL when it is set) on a free
port of 127.0.0.1, trusting a test EHR whose ES384 key pair is made for the run, and drives it with wrk
(another process, C, closed loop: each client sends its next call when the last one is answered) with
the fixture patients as patient-view calls with full prefetch, every n-th call a patient with 500
Observations, each call with its own signed JWT. Prints throughput, latency percentiles, errors, the
workers' memory (peak, first vs last minute) and where the 2 cores' time went. Kill mode SIGKILLs one
worker mid-run and counts the calls that failed against the calls that worker had in flight.

Exit status 0 when no call failed (kill mode: none beyond the killed worker's), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from bodies import load_requests  # noqa: E402
from figures import count_errors, per_second, report, summarise, verdicts  # noqa: E402
from procstat import (  # noqa: E402
    MemorySampler,
    children,
    cpu_seconds,
    cpu_snapshot,
    established_connections,
    machine_busy_seconds,
    top_others,
)
from serving import wait_for_healthz  # noqa: E402
from tokens import TestIssuer, sign_pool  # noqa: E402

SERVICE_PATH = "/cds-services/nxp2-myositis"
# Production needs an https public URL; the load runs over loopback http, as behind a TLS proxy, and each
# JWT names this URL as aud.
PUBLIC_BASE_URL = "https://nxp2-cds.load.invalid"
MAX_TOKEN_LIFETIME_S = 3600  # CDS_JWT_MAX_LIFETIME_S default


@dataclass
class KillRecord:
    at_s: float = 0.0
    pid: int = 0
    in_flight: int = 0
    replaced_after_s: float | None = None


@dataclass
class Gunicorn:
    """The service under test: gunicorn's master and its log, in a temporary directory."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def workers(self) -> list[int]:
        return children(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Run:
    args: argparse.Namespace
    workdir: Path
    issuer: TestIssuer = field(init=False)
    manifest: Path = field(init=False)
    body_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_bodies(run: Run) -> None:
    """Write each request body to a file and list them in the manifest the wrk script reads."""
    small, large = load_requests(ROOT / "fhir_fixtures")
    folder = run.workdir / "bodies"
    folder.mkdir()
    lines = []
    for kind, bodies in (("small", small), ("large", large)):
        for n, body in enumerate(bodies):
            path = folder / f"{kind}-{n:03d}.json"
            path.write_bytes(body)
            lines.append(f"{kind}\t{path}")
        run.body_sizes[kind] = (min(map(len, bodies)), max(map(len, bodies)))
    run.manifest = run.workdir / "bodies.txt"
    run.manifest.write_text("\n".join(lines) + "\n")


def start_gunicorn(run: Run) -> Gunicorn:
    """Start the service with production settings and wait until /healthz answers."""
    port = free_port()
    # CDS_DATABASE_URL passes through (a PostgreSQL run); every other CDS_* is the run's own.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_") or k == "CDS_DATABASE_URL"}
    data = run.workdir / "data"
    data.mkdir()
    env.update({
        "CDS_MODE": "production",
        "CDS_JWT_ISSUERS": run.issuer.issuers_setting(),
        "CDS_PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "CDS_DATA_DIR": str(data),
        "CDS_WORKERS": str(run.args.workers),
    })
    if run.args.worker_threads is not None:
        env["CDS_WORKER_THREADS"] = str(run.args.worker_threads)
    command = [str(Path(sys.executable).with_name("gunicorn")), "--config", str(ROOT / "deploy/gunicorn.conf.py"),
               "--bind", f"127.0.0.1:{port}"]
    if run.args.max_requests is not None:
        # Jitter a tenth of it (gunicorn.conf.py's 500 would let a short run with a small value recycle nothing).
        command += ["--max-requests", str(run.args.max_requests),
                    "--max-requests-jitter", str(run.args.max_requests // 10)]
    log = run.workdir / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603  (our own gunicorn and arguments)
            [*command, "cds_service.wsgi:app"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = Gunicorn(process, port, log)
    wait_for_healthz(port, process, log, timeout_s=60, ready=lambda: len(server.workers()) == run.args.workers)
    return server


def run_wrk(
    run: Run, server: Gunicorn, tokens: list[str], duration_s: float, kill: KillRecord | None
) -> dict[str, Any]:
    """Drive the service with wrk for `duration_s` using `tokens`; return the script's result."""
    token_file = run.workdir / "tokens.txt"
    token_file.write_text("\n".join(tokens) + "\n")
    a = run.args
    command = ["wrk", "-t", str(a.threads), "-c", str(a.clients), "-d", f"{int(duration_s)}s", "--timeout", "10s",
               "-s", str(HERE / "hook_calls.lua"), f"http://127.0.0.1:{server.port}",
               "--", str(token_file), str(run.manifest), str(a.threads), str(a.large_every), SERVICE_PATH]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    wrk = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # noqa: S603
    killer = None
    if kill is not None:
        killer = threading.Thread(target=kill_one_worker, args=(server, kill, started, a.kill_at * duration_s))
        killer.start()
    output, _ = wrk.communicate(timeout=duration_s + 60)
    if killer is not None:
        killer.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line for line in output.splitlines() if line.startswith("LOAD-RESULT ")]
    if wrk.returncode != 0 or not lines:
        raise SystemExit(f"wrk failed ({wrk.returncode}):\n{output[-4000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("LOAD-RESULT "))
    result["wrk_cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return result


def kill_one_worker(server: Gunicorn, record: KillRecord, started: float, at_s: float) -> None:
    """At `at_s` into the run, freeze a worker, count its open calls, SIGKILL it, and time its replacement."""
    time.sleep(max(0.0, started + at_s - time.monotonic()))
    before = server.workers()
    victim = before[0]
    os.kill(victim, signal.SIGSTOP)  # frozen, it cannot take or finish a call while we look
    record.in_flight = established_connections(victim, server.port)
    os.kill(victim, signal.SIGKILL)
    record.at_s = time.monotonic() - started
    record.pid = victim
    while time.monotonic() - started < at_s + 30:
        now = server.workers()
        if victim not in now and len(now) == len(before):
            record.replaced_after_s = time.monotonic() - started - record.at_s
            return
        time.sleep(0.01)


def server_cpu_seconds(server: Gunicorn) -> float:
    """Return CPU seconds of the master, its reaped workers and its live workers."""
    total = cpu_seconds(server.process.pid, reaped_children=True)
    for pid in server.workers():
        try:
            total += cpu_seconds(pid)
        except OSError:
            continue
    return total


def pool_size(calls: int, service_cpu_s: float, duration_s: float) -> int:
    """Return how many tokens to sign: enough for the most calls the service could answer in the run.

    From the warm-up's service CPU time per call: the rate if the service had every core to itself, so a
    warm-up slowed by another process on this shared machine cannot leave the run short of tokens.
    """
    ceiling = (os.cpu_count() or 1) / max(service_cpu_s / max(calls, 1), 1e-4)
    return int(ceiling * duration_s * 1.5) + 1000


def token_lifetime(args: argparse.Namespace) -> int:
    """Return `exp - iat` of the tokens: the warm-up, signing and run must fit in it (at least 5 minutes)."""
    return max(300, int(args.warmup + args.duration) + 300)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Start the service, warm it up, run the load (and the kill), and return the figures."""
    workdir = Path(tempfile.mkdtemp(prefix="nxp2-load-"))
    run = Run(args, workdir)
    run.issuer = TestIssuer.create(workdir)
    write_bodies(run)
    server = start_gunicorn(run)
    audience = f"{PUBLIC_BASE_URL}{SERVICE_PATH}"
    lifetime = token_lifetime(args)
    try:
        warm_tokens = sign_pool(run.issuer, audience, 1000 * args.warmup, lifetime)
        warm_cpu = server_cpu_seconds(server)
        warm = run_wrk(run, server, warm_tokens, args.warmup, None)
        warm_cpu = server_cpu_seconds(server) - warm_cpu
        warm_rate = warm["requests"] / (warm["duration_us"] / 1e6)
        warm_errors = count_errors(warm)
        if warm_errors or warm["exhausted"]:
            raise SystemExit(f"the warm-up failed: {warm_errors} errors, statuses {warm['statuses']}; "
                             f"gunicorn log: {server.log}")
        signing = time.monotonic()
        tokens = sign_pool(run.issuer, audience, pool_size(warm["requests"], warm_cpu, args.duration), lifetime)
        signing_s = time.monotonic() - signing
        kill = KillRecord() if args.mode == "kill" else None
        sampler = MemorySampler(server.process.pid)
        cpu_machine, cpu_server, cpu_self = machine_busy_seconds(), server_cpu_seconds(server), _self_cpu()
        processes = cpu_snapshot()
        load_before = os.getloadavg()
        sampler.start()
        result = run_wrk(run, server, tokens, args.duration, kill)
        sampler.stop()
        ours = {os.getpid(), server.process.pid, *server.workers(), *(pid for _, s in sampler.samples for pid in s)}
        others = top_others(processes, cpu_snapshot(), ours, result["duration_us"] / 1e6)
        load_after = os.getloadavg()
        cpu = {
            "machine_s": machine_busy_seconds() - cpu_machine,
            "service_s": server_cpu_seconds(server) - cpu_server,
            "wrk_s": result["wrk_cpu_s"],
            "driver_s": _self_cpu() - cpu_self,
        }
    finally:
        server.stop()
    log_text = server.log.read_text(errors="replace")
    figures = summarise(result, sampler, cpu, args)
    figures.update({
        "tokens_signed": len(tokens), "signing_s": round(signing_s, 1), "warmup_rate": round(warm_rate, 1),
        "body_bytes": run.body_sizes, "worker_boots": log_text.count("Booting worker"),
        "kill": None if kill is None else kill.__dict__,
        "top_other_processes": others, "loadavg_1min": [round(load_before[0], 2), round(load_after[0], 2)],
    })
    if kill is not None:
        figures["per_second"] = per_second(result)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        figures["workdir"] = str(workdir)
    return figures


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("steady", "kill", "db-outage"), default="steady",
                        help="db-outage: scripts/load/outage.py (its own options after --)")
    parser.add_argument("--duration", type=float, help="seconds of load (default 300; kill mode 60)")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of load before the measured run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (CDS_WORKERS)")
    parser.add_argument("--worker-threads", type=int,
                        help="threads per worker that run requests (CDS_WORKER_THREADS; default: the setting's)")
    parser.add_argument("--large-every", type=int, default=5, help="every n-th call is a 500-Observation patient")
    parser.add_argument("--max-requests", type=int,
                        help="override gunicorn's max_requests, with a jitter of a tenth of it (0: never recycle)")
    parser.add_argument("--kill-at", type=float, default=0.5, help="kill mode: when, as a fraction of the run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (gunicorn log, bodies)")
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 60.0 if args.mode == "kill" else 300.0
    if args.duration < 2 or args.warmup < 1 or args.clients < 1 or not 0 < args.kill_at < 1:
        parser.error("need --duration of 2 s or more, --warmup of 1 s or more, clients, and 0 < --kill-at < 1")
    if token_lifetime(args) > MAX_TOKEN_LIFETIME_S:
        parser.error(f"runs longer than {MAX_TOKEN_LIFETIME_S - 300 - args.warmup} s need tokens living longer "
                     "than CDS_JWT_MAX_LIFETIME_S allows")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "db-outage" in argv:
        from outage import main as outage_main

        return outage_main([a for a in argv if a not in ("--mode", "db-outage")])
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("run.py: wrk is not installed (make wrk, or apt-get install wrk)", file=sys.stderr)
        return 2
    figures = measure(args)
    print("\n".join(report(figures, args)), flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if all(ok for name, ok in verdicts(figures) if name.startswith(("zero errors", "failures"))) else 1


if __name__ == "__main__":
    sys.exit(main())
