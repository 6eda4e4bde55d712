"""`make run`: the service under gunicorn, with a demo FHIR server holding every fixture patient.

    CDS_BIND=127.0.0.1:8080 CDS_WORKERS=2 .venv/bin/python scripts/run_dev.py [--fhir-port 8090] [--no-fhir]

In development mode (the default here) it first starts a real FHIR R4 server (sekmet, installed into
.venv-fhir/ on first use) on 127.0.0.1:<fhir-port>, without authentication, and loads each fixture of
fhir_fixtures/ as a transaction Bundle, plus one demo-only patient with a CK and ferritin course (dates
moved to today: tests/support/demo_fixtures.py). It then
runs gunicorn with CDS_DEMO_FHIR_URL pointing at that server, so /demo shows the patients. If the FHIR
server cannot be installed, started or loaded, the service starts anyway and this script says why.
SIGINT, SIGTERM and SIGHUP go to gunicorn; when gunicorn exits, the FHIR server is stopped.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.demo_fixtures import FIXTURES, demo_patients, transaction_bundles  # noqa: E402
from tests.support.fhir_server import FhirServer, FhirServerError  # noqa: E402

BIN = Path(sys.executable).parent


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


def start_fhir_server(port: int, fixtures: Path = FIXTURES) -> FhirServer:
    """Start sekmet on 127.0.0.1:port and load every fixture; raise FhirServerError saying why not."""
    if _port_in_use("127.0.0.1", port):
        raise FhirServerError(f"port {port} on 127.0.0.1 is already in use (another `make run`?); "
                              "set FHIR_PORT to a free port")
    server = FhirServer(token=None, port=port)
    try:
        server.start()
    except (subprocess.CalledProcessError, OSError) as error:
        server.stop()
        raise FhirServerError(f"sekmet-fhir could not be installed or started ({error})") from None
    try:
        started = time.monotonic()
        bundles = transaction_bundles(demo_patients(fixtures), datetime.now(UTC))
        for bundle in bundles:
            server.load(bundle)
        _say(f"demo FHIR server {server.base_url}: {len(bundles)} patients loaded (the fixtures and one demo course) "
             f"in {time.monotonic() - started:.1f} s (no authentication; loopback only)")
    except (FhirServerError, OSError, ValueError) as error:
        server.stop()
        raise FhirServerError(f"loading the fixtures failed: {error}") from None
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fhir-port", type=int, default=int(os.environ.get("FHIR_PORT") or 8090))
    parser.add_argument("--no-fhir", action="store_true", help="do not start the demo FHIR server")
    args = parser.parse_args(argv)

    env = dict(os.environ)
    env["CDS_MODE"] = env.get("CDS_MODE") or "development"
    env["CDS_BIND"] = env.get("CDS_BIND") or "127.0.0.1:8080"  # gunicorn.conf.py reads CDS_BIND and CDS_WORKERS
    env["CDS_PUBLIC_BASE_URL"] = env.get("CDS_PUBLIC_BASE_URL") or f"http://{env['CDS_BIND']}"
    server: FhirServer | None = None
    if env["CDS_MODE"] != "development":
        _say("production mode: no demo FHIR server and no /demo page")
    elif args.no_fhir:
        _say("--no-fhir: no demo FHIR server; /demo shows no patients")
    else:
        try:
            server = start_fhir_server(args.fhir_port)
            env["CDS_DEMO_FHIR_URL"] = server.base_url
        except FhirServerError as error:
            _say(f"the demo FHIR server did NOT start: {error}")
            _say("the service starts without it; /demo shows no patients")
    try:
        return _serve(env)
    finally:
        if server is not None:
            server.stop()
            _say("demo FHIR server stopped")


def _serve(env: dict[str, str]) -> int:
    """Print the settings banner, run gunicorn until it exits, and return its exit code."""
    # Our own executables from this virtual environment, no shell: S603 does not apply.
    banner = subprocess.run([str(BIN / "nxp2-cds"), "settings"], env=env, check=False)  # noqa: S603
    if banner.returncode != 0:
        return banner.returncode
    gunicorn = subprocess.Popen(  # noqa: S603
        [str(BIN / "gunicorn"), "--config", str(ROOT / "deploy" / "gunicorn.conf.py"), "cds_service.wsgi:app"],
        env=env, cwd=ROOT,
    )

    def forward(signum: int, _frame: FrameType | None) -> None:
        if gunicorn.poll() is None:
            gunicorn.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    if "CDS_DEMO_FHIR_URL" in env:
        _say(f"demo EHR: {env['CDS_PUBLIC_BASE_URL']}/demo")
    return gunicorn.wait()


if __name__ == "__main__":
    sys.exit(main())
