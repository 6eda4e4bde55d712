"""Slow clients against the service under gunicorn as deployed: do probes still get answers?

    .venv/bin/python scripts/hostile/slow_clients.py [--clients 50] [--duration 20] [--json FILE]

Starts gunicorn (deploy/gunicorn.conf.py, 2 workers, CDS_MODE=development, SQLite in a temp dir) on a free
port of 127.0.0.1. Half of the slow clients send their request headers one byte every `--drip` seconds; the
other half send complete headers announcing a 100,000-byte body, then the body one byte every `--drip`
seconds. Each reconnects when the server closes it. Meanwhile a prober alternates `GET /healthz` and a valid
`patient-view` call every 0.25 s, each with a 1 s timeout. Prints the probes sent, answered in time, and the
worst probe time. Exit status 0 when every probe was answered within 1 s, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent / "load"))

from bodies import SERVICE_ID, load_requests  # noqa: E402
from serving import wait_for_healthz  # noqa: E402

PROBE_TIMEOUT_S = 1.0
PROBE_EVERY_S = 0.25
SLOW_BODY_BYTES = 100_000


@dataclass
class Probes:
    times: list[float] = field(default_factory=list)  # seconds, for the answered ones
    failures: list[str] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return len(self.times) + len(self.failures)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_gunicorn(workdir: Path, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    env.update({"CDS_MODE": "development", "CDS_BIND": f"127.0.0.1:{port}", "CDS_WORKERS": str(workers),
                "CDS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "CDS_DATA_DIR": str(workdir)})
    log = (workdir / "gunicorn.log").open("wb")
    process = subprocess.Popen(  # noqa: S603  (our own gunicorn and arguments)
        [str(Path(sys.executable).with_name("gunicorn")), "--config", str(ROOT / "deploy/gunicorn.conf.py"),
         "cds_service.wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_for_healthz(port, process, workdir / "gunicorn.log")  # generous: the machine may be busy
    return process, port


def slow_client(port: int, body_phase: bool, drip_s: float, stop: threading.Event, counts: dict[str, int]) -> None:
    """Hold connections open by dripping bytes; reconnect whenever the server closes one."""
    head = (f"POST /cds-services/{SERVICE_ID} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {SLOW_BODY_BYTES}\r\n\r\n").encode()
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                counts["connections"] += 1
                if body_phase:
                    sock.sendall(head + b"{")
                    drip = b" " * SLOW_BODY_BYTES
                else:
                    drip = head
                for byte in drip:
                    if stop.wait(drip_s):
                        return
                    sock.sendall(bytes([byte]))
        except OSError:
            counts["closed_by_server"] += 1
            stop.wait(0.05)


def probe_once(url: str, body: bytes | None) -> float:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})  # noqa: S310
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_S) as answer:  # noqa: S310  (our http:// URL)
        answer.read()
        if answer.status != 200:
            raise OSError(f"status {answer.status}")
    return time.monotonic() - started


def prober(port: int, hook_body: bytes, stop: threading.Event, probes: Probes) -> None:
    targets = [(f"http://127.0.0.1:{port}/healthz", None),
               (f"http://127.0.0.1:{port}/cds-services/{SERVICE_ID}", hook_body)]
    n = 0
    while not stop.wait(PROBE_EVERY_S):
        url, body = targets[n % 2]
        n += 1
        try:
            elapsed = probe_once(url, body)
        except Exception as error:  # a timeout or a refused call is what we count
            probes.failures.append(f"{url.rsplit('/', 1)[-1]}: {type(error).__name__}: {error}")
        else:
            if elapsed <= PROBE_TIMEOUT_S:
                probes.times.append(elapsed)
            else:
                probes.failures.append(f"{url.rsplit('/', 1)[-1]}: answered after {elapsed:.3f} s")


def attack(port: int, clients: int, duration_s: float, drip_s: float) -> tuple[Probes, dict[str, int]]:
    hook_body = load_requests(ROOT / "fhir_fixtures")[0][0].replace(
        b"00000000-0000-4000-8000-HOOKINSTANCE", b"9a1f43a2-8c55-4a5e-9d2b-probe0000000")
    probe_once(f"http://127.0.0.1:{port}/cds-services/{SERVICE_ID}", hook_body)  # warm up before the attack
    stop = threading.Event()
    probes = Probes()
    counts = {"connections": 0, "closed_by_server": 0}
    threads = [threading.Thread(target=slow_client, args=(port, n % 2 == 1, drip_s, stop, counts), daemon=True)
               for n in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1)  # let the slow clients take their places first
    probe_thread = threading.Thread(target=prober, args=(port, hook_body, stop, probes))
    probe_thread.start()
    time.sleep(duration_s)
    stop.set()
    probe_thread.join(timeout=10)
    for thread in threads:
        thread.join(timeout=10)
    return probes, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--drip", type=float, default=0.5, help="seconds between two bytes of a slow client")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nxp2-slow-") as folder:
        process, port = start_gunicorn(Path(folder), args.workers)
        try:
            probes, counts = attack(port, args.clients, args.duration, args.drip)
        finally:
            process.terminate()
            process.wait(timeout=30)
    answered = len(probes.times)
    worst = max(probes.times, default=0.0)
    figures = {"clients": args.clients, "duration_s": args.duration, "probes": probes.sent,
               "answered_within_1s": answered, "worst_probe_s": round(worst, 3),
               "slow_connections": counts["connections"], "failures": probes.failures[:10]}
    print(f"slow clients: {args.clients} for {args.duration:g} s ({counts['connections']} connections opened)")
    print(f"probes: {answered} of {probes.sent} answered within {PROBE_TIMEOUT_S:g} s; "
          f"worst answered {worst * 1000:.0f} ms")
    for failure in probes.failures[:5]:
        print(f"  failed: {failure}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if probes.sent and answered == probes.sent else 1


if __name__ == "__main__":
    sys.exit(main())
