"""Run a local FHIR R4 server (sekmet) for trying the service by hand: `make fhir-server`.

    .venv/bin/python scripts/fhir_server.py [--port 8090] [--token TOKEN | --no-token] [--load BUNDLE.json ...]

Starts sekmet on 127.0.0.1 (installing it into .venv-fhir/ on first use), loads each transaction Bundle
given, prints the FHIR base URL to use as `fhirServer`, and runs until Ctrl-C. The work is done by
tests/support/fhir_server.py, shared with the integration tests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.fhir_server import FhirServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--token", default="dev-token", help="bearer token the server accepts")
    parser.add_argument("--no-token", action="store_true", help="serve without authentication")
    parser.add_argument("--load", type=Path, action="append", default=[], help="transaction Bundle to load")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with FhirServer(token=None if args.no_token else args.token, port=args.port) as server:
        for path in args.load:
            response = server.load(json.loads(path.read_text()))
            print(f"loaded {path}: {len(response.get('entry', []))} entries")
        auth = "no token" if args.no_token else f"bearer token {args.token!r}"
        print(f"FHIR server ready: {server.base_url} ({auth}); Ctrl-C stops it", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
