"""`make load MODE=db-outage`: the service on a local PostgreSQL that is stopped (or frozen) mid-run.

    .venv/bin/python scripts/load/run.py --mode db-outage [--kind stop|freeze] [--auth production|development]
        [--duration 40] [--outage-at 10] [--outage-s 15] [--clients 4] [--service-root DIR]

Starts a PostgreSQL cluster of its own (tests/storage/pgserver.py: a temp folder, a free port), gunicorn on
it (deploy/gunicorn.conf.py, 2 workers) and `--clients` closed-loop clients (Python threads, keep-alive
connections) sending patient-view calls (a signed JWT each in production) and, every 5th call, one feedback
item. At `--outage-at` s the database is stopped (pg_ctl -m immediate) or frozen (SIGSTOP), and brought back
`--outage-s` s later. Prints, per second, the calls answered by status and their latency, then how long
service took to resume after the database's return and how many acknowledged feedback items are missing.
`--service-root` runs another checkout's code (e.g. the commit before a change) with the same driver.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from bodies import HOOK_INSTANCE, load_requests  # noqa: E402
from serving import wait_for_healthz  # noqa: E402
from tokens import TestIssuer, sign_pool  # noqa: E402

from tests.storage.pgserver import PostgresServer, free_port, start_server  # noqa: E402

SERVICE_PATH = "/cds-services/nxp2-myositis"
# Production needs an https public URL; the calls go over loopback http, as behind a TLS proxy (as run.py).
PUBLIC_BASE_URL = "https://nxp2-cds.load.invalid"


@dataclass
class Sample:
    second: int
    kind: str  # "hook" or "feedback"
    status: str  # "200", "503", ..., or "error" (no HTTP answer)
    latency_ms: float


@dataclass
class Shared:
    samples: list[Sample] = field(default_factory=list)
    acknowledged: list[tuple[str, str]] = field(default_factory=list)  # (card uuid, outcomeTimestamp)
    tokens: dict[str, list[str]] = field(default_factory=dict)  # kind -> JWTs for its endpoint (production)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)


def start_gunicorn(args: argparse.Namespace, url: str, workdir: Path, issuer: TestIssuer | None) -> tuple[
        subprocess.Popen[bytes], int]:
    port = free_port()
    root = args.service_root
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    env.update({
        "PYTHONPATH": str(root), "CDS_MODE": args.auth, "CDS_DATABASE_URL": url, "CDS_WORKERS": "2",
        "CDS_PUBLIC_BASE_URL": PUBLIC_BASE_URL, "CDS_DATA_DIR": str(workdir / "data"),
    })
    if issuer is not None:
        env["CDS_JWT_ISSUERS"] = issuer.issuers_setting()
    log = (workdir / "gunicorn.log").open("wb")
    process = subprocess.Popen(  # noqa: S603  (our own gunicorn)
        [str(Path(sys.executable).with_name("gunicorn")), "--config", str(root / "deploy/gunicorn.conf.py"),
         "--bind", f"127.0.0.1:{port}", "cds_service.wsgi:app"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    wait_for_healthz(port, process, workdir / "gunicorn.log")
    return process, port


def client(port: int, bodies: list[bytes], shared: Shared, started: float, feedback_every: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    n = 0
    issued = ""  # the uuid of a card this client was answered with: feedback names a card the service issued
    while not shared.stop.is_set():
        n += 1
        headers = {"Content-Type": "application/json"}
        item = ("", "")
        kind = "feedback" if n % feedback_every == 0 and issued else "hook"
        token = ""
        if shared.tokens.get(kind):
            with shared.lock:
                token = shared.tokens[kind].pop()
            headers["Authorization"] = f"Bearer {token}"
        if kind == "feedback":
            kind, path = "feedback", f"{SERVICE_PATH}/feedback"
            # Each item differs by its timestamp, so each is stored (an item sent twice is stored once).
            item = (issued, datetime.now(UTC).isoformat())
            body = orjson.dumps({"feedback": [{"card": item[0], "outcome": "overridden", "outcomeTimestamp": item[1]}]})
        else:
            kind, path = "hook", SERVICE_PATH
            body = bodies[n % len(bodies)].replace(HOOK_INSTANCE.encode(), str(uuid.uuid4()).encode())
        sent = time.monotonic()
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            status = str(response.status)
            if kind == "hook" and status == "200":
                issued = next((c["uuid"] for c in orjson.loads(answer)["cards"]), issued)
        except (OSError, http.client.HTTPException):
            status = "error"
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        done = time.monotonic()
        with shared.lock:
            shared.samples.append(Sample(int(sent - started), kind, status, (done - sent) * 1000))
            if kind == "feedback" and status == "200":
                shared.acknowledged.append(item)
            if token and status.startswith("5"):
                # A call not served does not use up its JWT id (api/security.py): an EHR may send it again.
                shared.tokens[kind].insert(0, token)


def outage(server: PostgresServer, args: argparse.Namespace, started: float, marks: dict[str, float]) -> None:
    time.sleep(max(0.0, started + args.outage_at - time.monotonic()))
    frozen: list[int] = []
    marks["down"] = time.monotonic() - started
    if args.kind == "stop":
        server.halt()
    else:
        frozen = server.processes()
        _signal_all(frozen, signal.SIGSTOP)
    try:
        time.sleep(args.outage_s)
    finally:
        if args.kind == "stop":
            server.start()
        _signal_all(frozen, signal.SIGCONT)
    marks["back"] = time.monotonic() - started


def _signal_all(pids: list[int], number: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # a backend that ended meanwhile
            os.kill(pid, number)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def report(shared: Shared, marks: dict[str, float], args: argparse.Namespace, lost: int) -> list[str]:
    by_second: dict[int, list[Sample]] = defaultdict(list)
    for sample in shared.samples:
        by_second[sample.second].append(sample)
    lines = [
        f"nxp2-cds db-outage ({args.kind}, CDS_MODE={args.auth}, code: {args.service_root}): {args.duration:g} s, "
        f"{args.clients} clients, gunicorn 2 workers, PostgreSQL {args.kind} at {marks.get('down', 0):.1f} s, "
        f"back at {marks.get('back', 0):.1f} s",
        "   s  hook 200/503/other  feedback 200/503/other   p50 ms   p95 ms   max ms",
    ]
    for second in sorted(by_second):
        group = by_second[second]
        counts: dict[str, dict[str, int]] = {kind: defaultdict(int) for kind in ("hook", "feedback")}
        for sample in group:
            bucket = sample.status if sample.status in ("200", "503") else "other"
            counts[sample.kind][bucket] += 1
        latencies = [s.latency_ms for s in group]
        hook, feedback = counts["hook"], counts["feedback"]
        lines.append(
            f"{second:4d}  {hook['200']:8d}/{hook['503']:3d}/{hook['other']:5d}  {feedback['200']:8d}/"
            f"{feedback['503']:3d}/{feedback['other']:5d}  {statistics.median(latencies):7.1f}  "
            f"{percentile(latencies, 0.95):7.1f}  {max(latencies):7.1f}"
        )
    back = marks.get("back", 0.0)
    resumed = [s for s in shared.samples if s.kind == "feedback" and s.status == "200" and s.second >= int(back)]
    started_ok = min((s.second for s in resumed), default=None)
    during = [s for s in shared.samples if marks.get("down", 0) <= s.second < back]
    hook_during = [s.latency_ms for s in during if s.kind == "hook"]
    statuses: dict[str, int] = defaultdict(int)
    for sample in shared.samples:
        statuses[f"{sample.kind} {sample.status}"] += 1
    lines += [
        f"  all calls: {dict(sorted(statuses.items()))}",
        f"  during the outage: {len(during)} calls answered, hook p95 {percentile(hook_during, 0.95):.0f} ms, "
        f"max {max(hook_during, default=0):.0f} ms",
        "  first feedback stored after the database's return: "
        + ("never" if started_ok is None else f"in second {started_ok} (database back at {back:.1f} s)"),
        f"  acknowledged feedback items: {len(shared.acknowledged)}, missing from the database: {lost}",
    ]
    return lines


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=("stop", "freeze"), default="stop")
    parser.add_argument("--auth", choices=("production", "development"), default="production")
    parser.add_argument("--duration", type=float, default=40.0)
    parser.add_argument("--outage-at", type=float, default=10.0)
    parser.add_argument("--outage-s", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--feedback-every", type=int, default=5)
    parser.add_argument("--service-root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    if not 0 < args.outage_at < args.outage_at + args.outage_s < args.duration:
        parser.error("need 0 < --outage-at < --outage-at + --outage-s < --duration")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    server = start_server()
    workdir = Path(tempfile.mkdtemp(prefix="cds-outage-"))
    gunicorn = None
    try:
        url = server.url(server.create_database())
        issuer = TestIssuer.create(workdir) if args.auth == "production" else None
        gunicorn, port = start_gunicorn(args, url, workdir, issuer)
        small, _ = load_requests(ROOT / "fhir_fixtures")
        shared = Shared()
        if issuer is not None:
            base = f"{PUBLIC_BASE_URL}{SERVICE_PATH}"  # the JWT's aud: the URL the EHR calls
            shared.tokens = {"hook": sign_pool(issuer, base, int(200 * args.duration), 900),
                             "feedback": sign_pool(issuer, f"{base}/feedback", int(50 * args.duration), 900)}
        marks: dict[str, float] = {}
        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(port, small, shared, started, args.feedback_every))
                   for _ in range(args.clients)]
        breaker = threading.Thread(target=outage, args=(server, args, started, marks))
        for thread in [*threads, breaker]:
            thread.start()
        time.sleep(args.duration)
        shared.stop.set()
        for thread in [*threads, breaker]:
            thread.join(timeout=120)
        with psycopg.connect(url) as connection:
            stored = {tuple(row) for row in connection.execute(
                "SELECT card_uuid, outcome_timestamp FROM feedback").fetchall()}
        lost = len(set(shared.acknowledged) - stored)
        print("\n".join(report(shared, marks, args, lost)), flush=True)
        return 0 if lost == 0 else 1
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        server.stop()
