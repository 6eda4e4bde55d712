"""`make run`: the service under gunicorn, with a demo FHIR server holding every fixture patient.

    CDS_BIND=127.0.0.1:8080 CDS_WORKERS=2 .venv/bin/python scripts/run_dev.py [--fhir-port 8090] [--no-fhir]
    python3 scripts/run_dev.py --preflight [--fhir-port 8090]     # only check the ports and var/, then exit

Before anything is touched it checks that the service's port and the FHIR port are free and that no running
instance uses the same CDS_DATA_DIR (whose metrics folder gunicorn empties at start), and says which one is
taken and how to choose another (PORT=, FHIR_PORT=, CDS_DATA_DIR=). `make run` runs this check first, with
the system Python, before it installs anything.

In development mode (the default here) gunicorn starts at once, with CDS_DEMO_FHIR_URL pointing at
127.0.0.1:<fhir-port>, and meanwhile a thread installs (first run only, into .venv-fhir/) and starts a real
FHIR R4 server (sekmet), without authentication, and loads each fixture of fhir_fixtures/ as a transaction
Bundle plus one demo-only patient with a CK and ferritin course (dates moved to today:
tests/support/demo_fixtures.py). It writes how far it got to <CDS_DATA_DIR>/demo-fhir-status.json, which
/demo/config passes to the page, so /demo says "loading patients" until they are in. If the FHIR server cannot
be installed, started or loaded, the service keeps running and both this console and /demo say why.

Stopping: SIGINT (Ctrl-C), SIGTERM, SIGHUP and SIGQUIT stop gunicorn (SIGTERM, graceful) and then the FHIR
server. A signal sent to `make` itself stops everything too: make passes SIGTERM on; for the signals make keeps
for itself (it waits for this process before it dies) and for make's death, a watcher thread sees make's
signal handlers or its process change and stops as if sent SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.fhir_server import FhirServer, FhirServerError, die_with_parent, is_installed  # noqa: E402

BIN = Path(sys.executable).parent
STATUS_FILE = "demo-fhir-status.json"  # read by cds_service/api/demo.py
METRICS_LOCK = "prometheus.lock"  # held by the gunicorn master (cds_service/observability.py)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def _say(message: str) -> None:
    print(f"run_dev: {message}", file=sys.stderr, flush=True)


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _data_dir(env: dict[str, str]) -> Path:
    return ROOT / (env.get("CDS_DATA_DIR") or "var")  # a relative folder is the project's, as for gunicorn


def _metrics_in_use(data_dir: Path) -> bool:
    """True when a running gunicorn master holds the lock on this data folder's metrics."""
    lock_path = data_dir / METRICS_LOCK
    if not lock_path.exists():
        return False
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
    return False


def preflight(env: dict[str, str], fhir_port: int | None) -> list[str]:
    """Return why this instance must not start (empty: it may), checking without touching anything."""
    problems = []
    host, _, port = env["CDS_BIND"].rpartition(":")
    if _port_in_use(host or "127.0.0.1", int(port)):
        problems.append(f"port {port} on {host} (the service, CDS_BIND) is already in use, perhaps by another "
                        f"`make run`: choose another with `make run PORT=<port>`")
    if fhir_port is not None and _port_in_use("127.0.0.1", fhir_port):
        problems.append(f"port {fhir_port} on 127.0.0.1 (the demo FHIR server) is already in use, perhaps by "
                        f"another `make run`: choose another with `make run FHIR_PORT=<port>`")
    data_dir = _data_dir(env)
    if _metrics_in_use(data_dir):
        problems.append(f"a running instance uses {data_dir} (its metrics are in {data_dir / 'prometheus'}): give "
                        f"this one its own folder with `CDS_DATA_DIR=<folder> make run`")
    return problems


class StatusFile:
    """How far the demo FHIR server got, as JSON in CDS_DATA_DIR for /demo/config (written atomically)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / STATUS_FILE

    def write(self, state: str, message: str, **extra: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps({"state": state, "message": message, **extra}))
        partial.replace(self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class DemoFhir(threading.Thread):
    """Install, start and load the demo FHIR server; then keep it (and its parent-death signal) until stopped."""

    def __init__(self, port: int, status: StatusFile) -> None:
        super().__init__(name="demo-fhir", daemon=True)
        self.port = port
        self.status = status
        self.server: FhirServer | None = None
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            self._start_and_load()
        except (FhirServerError, subprocess.CalledProcessError, OSError, ValueError) as error:
            if not self.stopping.is_set():
                _say(f"the demo FHIR server did NOT start: {error}")
                _say("the service keeps running without it; /demo says so")
                self.status.write("failed", f"The demo FHIR server did not start: {error}")
            self._stop_server()
            return
        self.stopping.wait()  # sekmet dies with this thread (PR_SET_PDEATHSIG), so the thread waits here
        self._stop_server()

    def _start_and_load(self) -> None:
        from tests.support.demo_fixtures import demo_patients, transaction_bundles

        if not is_installed():
            _say("installing the demo FHIR server (sekmet-fhir) into .venv-fhir/, first run only, while the "
                 "service starts; /demo says 'loading patients' until it is loaded")
            self.status.write("installing", "Installing the demo FHIR server (first run only)")
        self.server = FhirServer(token=None, port=self.port)
        self.status.write("starting", "Starting the demo FHIR server")
        self.server.start(timeout_s=180)  # generous: a loaded 2-core machine starts it slowly
        if self.stopping.is_set():
            return
        _say(f"demo FHIR server up on {self.server.base_url}; loading the fixture patients into it")
        started = time.monotonic()
        bundles = transaction_bundles(demo_patients(), datetime.now(UTC))
        for done, bundle in enumerate(bundles):
            if self.stopping.is_set():
                return
            self.status.write("loading", f"Loading patients ({done} of {len(bundles)})", loaded=done,
                              total=len(bundles))
            self.server.load(bundle)
        self.status.write("ready", f"{len(bundles)} patients loaded", loaded=len(bundles), total=len(bundles))
        _say(f"demo FHIR server {self.server.base_url}: {len(bundles)} patients loaded (the fixtures and one demo "
             f"course) in {time.monotonic() - started:.1f} s (no authentication; loopback only)")

    def _stop_server(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
            _say("demo FHIR server stopped")

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)


def _signal_mask(pid: int) -> int | None:
    """The signals `pid` catches (Linux /proc), or None when it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return int(line.split()[1], 16)
    except (OSError, ValueError):
        return None
    return None


def watch_make(on_stop: Any) -> None:
    """Call on_stop() when our parent `make` dies or takes one of its fatal signals (see the module doc)."""
    parent = os.getppid()
    try:
        is_make = Path(f"/proc/{parent}/comm").read_text().strip() in {"make", "gmake"}
    except OSError:
        is_make = False
    fatal = sum(1 << (s - 1) for s in STOP_SIGNALS)
    caught = (_signal_mask(parent) or 0) & fatal if is_make else 0

    def watch() -> None:
        while True:
            time.sleep(0.2)
            if os.getppid() != parent:
                return on_stop("make has exited")
            if caught and (_signal_mask(parent) or 0) & fatal != caught:
                return on_stop("make received a signal")

    threading.Thread(target=watch, name="watch-make", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fhir-port", type=int, default=int(os.environ.get("FHIR_PORT") or 8090))
    parser.add_argument("--no-fhir", action="store_true", help="do not start the demo FHIR server")
    parser.add_argument("--preflight", action="store_true", help="only check the ports and CDS_DATA_DIR")
    args = parser.parse_args(argv)

    env = dict(os.environ)
    env["CDS_MODE"] = env.get("CDS_MODE") or "development"
    env["CDS_BIND"] = env.get("CDS_BIND") or "127.0.0.1:8080"  # gunicorn.conf.py reads CDS_BIND and CDS_WORKERS
    env["CDS_PUBLIC_BASE_URL"] = env.get("CDS_PUBLIC_BASE_URL") or f"http://{env['CDS_BIND']}"
    with_fhir = env["CDS_MODE"] == "development" and not args.no_fhir
    problems = preflight(env, args.fhir_port if with_fhir else None)
    for problem in problems:
        _say(f"not starting: {problem}")
    if problems or args.preflight:
        return 1 if problems else 0

    status = StatusFile(_data_dir(env))
    status.remove()
    demo: DemoFhir | None = None
    if env["CDS_MODE"] != "development":
        _say("production mode: no demo FHIR server and no /demo page")
    elif args.no_fhir:
        _say("--no-fhir: no demo FHIR server; /demo shows no patients")
    else:
        demo = DemoFhir(args.fhir_port, status)
        env["CDS_DEMO_FHIR_URL"] = f"http://127.0.0.1:{args.fhir_port}/fhir"
        status.write("starting", "Starting the demo FHIR server")
    try:
        return _serve(env, demo)
    finally:
        if demo is not None:
            demo.stop()
        status.remove()


def _serve(env: dict[str, str], demo: DemoFhir | None) -> int:
    """Print the settings banner, run gunicorn (and start the demo FHIR thread) until it exits."""
    stop_reason: list[str] = []
    gunicorn: subprocess.Popen[bytes] | None = None

    def stop(reason: str) -> None:
        if not stop_reason:
            _say(f"stopping ({reason}): gunicorn, then the demo FHIR server")
        stop_reason.append(reason)
        if gunicorn is not None and gunicorn.poll() is None:
            gunicorn.send_signal(signal.SIGTERM)  # SIGHUP would only make gunicorn reload

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop(signal.Signals(signum).name)

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)
    watch_make(stop)
    if demo is not None:
        demo.start()  # its install (first run) and start overlap gunicorn's
    _say("starting gunicorn, and printing the settings it starts with")
    # Our own executables from this virtual environment, no shell: S603 does not apply. gunicorn first: the
    # banner's imports then overlap its start; a bad setting stops both, each saying which.
    gunicorn = subprocess.Popen(  # noqa: S603
        [str(BIN / "gunicorn"), "--config", str(ROOT / "deploy" / "gunicorn.conf.py"), "cds_service.wsgi:app"],
        env=env, cwd=ROOT, preexec_fn=die_with_parent,  # gunicorn must not outlive us
        # Its own process group: a Ctrl-C or a signal to make's group reaches us, not its workers one by one
        # (a worker killed under it is respawned and then waits out graceful_timeout: a 20 s stop).
        process_group=0,
    )
    subprocess.run([str(BIN / "nxp2-cds"), "settings"], env=env, check=False)  # noqa: S603
    _say(f"discovery will answer at {env['CDS_PUBLIC_BASE_URL']}/cds-services; Ctrl-C stops everything")
    if stop_reason:
        gunicorn.send_signal(signal.SIGTERM)  # a signal came while it was being started
    if demo is not None:
        _say(f"demo EHR: {env['CDS_PUBLIC_BASE_URL']}/demo (patients appear once the demo FHIR server is loaded)")
    while True:
        with contextlib.suppress(InterruptedError):
            return gunicorn.wait()


if __name__ == "__main__":
    sys.exit(main())
