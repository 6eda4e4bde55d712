"""Run a local FHIR R4 server (sekmet) for trying the service by hand: `make fhir-server`.

    .venv/bin/python scripts/fhir_server.py [--port 8090] [--token TOKEN | --no-token]
        [--load BUNDLE.json|FOLDER ...] [--demo] [--keep-dates] [--host 127.0.0.1] [--public-url URL]
        [--ready-file PATH]

Starts sekmet (installing it into .venv-fhir/ on first use), loads what `--load` names, prints the FHIR
base URL to send as `fhirServer` and the bearer token the server accepts (to send as
`fhirAuthorization.access_token`), and runs until Ctrl-C or SIGTERM.

`--load` takes transaction Bundles as they are, and collection Bundles (the files of fhir_fixtures/) or
a folder of them the way `make run` loads its demo server: one transaction per patient, dates moved so
that the fixtures' "now" (2026-11-24T09:00Z) becomes the moment of loading (`--keep-dates` keeps them),
and resource ids shared between fixtures made unique. `--demo` loads exactly what `make run` loads (every
fixture and the demo patient with a CK and ferritin course). The work is done by
tests/support/fhir_server.py and tests/support/demo_fixtures.py, shared with the tests and `make run`.
`--host 0.0.0.0 --public-url http://fhir:8090/fhir` is how the compose demo runs it in a container.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.demo_fixtures import demo_patients, transaction_bundles
from tests.support.fhir_server import FhirServer, FhirServerError


class LoadError(ValueError):
    """A file given to --load cannot be loaded; the message names it."""


def _read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise LoadError(f"{path}: not a readable JSON file ({error})") from None
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        raise LoadError(f"{path}: not a FHIR Bundle")
    return document


def bundles_to_load(paths: list[Path], demo: bool, now: datetime | None) -> list[tuple[str, dict[str, Any]]]:
    """Return (label, transaction Bundle) for everything to load, in order; raise LoadError naming a bad file."""
    transactions: list[tuple[str, dict[str, Any]]] = []
    collections: dict[str, dict[str, Any]] = demo_patients() if demo else {}
    for path in paths:
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        if not files:
            raise LoadError(f"{path}: no *.json file in this folder")
        for file in files:
            bundle = _read(file)
            kind = bundle.get("type")
            if kind in {"transaction", "batch"}:
                transactions.append((str(file), bundle))
            elif kind in {"collection", "searchset"}:
                collections[file.stem] = bundle
            else:
                raise LoadError(f"{file}: a {kind!r} Bundle; give a transaction, batch or collection Bundle")
    try:
        converted = transaction_bundles(collections, now)
    except (KeyError, ValueError) as error:
        raise LoadError(f"a collection Bundle cannot be loaded: {error}") from None
    return [*zip(collections, converted, strict=True), *transactions]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--public-url", help="base URL clients use, if not http://<host>:<port>/fhir")
    parser.add_argument("--token", default="dev-token", help="the one bearer token the server accepts")
    parser.add_argument("--no-token", action="store_true", help="serve without authentication")
    parser.add_argument("--load", type=Path, action="append", default=[],
                        help="a transaction or collection Bundle, or a folder of them (repeatable)")
    parser.add_argument("--demo", action="store_true", help="load what `make run` loads")
    parser.add_argument("--keep-dates", action="store_true", help="load collection Bundles with their own dates")
    parser.add_argument("--ready-file", type=Path, help="file to create once everything is loaded (a health check)")
    args = parser.parse_args(argv)
    try:
        bundles = bundles_to_load(args.load, args.demo, None if args.keep_dates else datetime.now(UTC))
    except LoadError as error:
        print(f"fhir_server: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    token = None if args.no_token else args.token
    try:
        with FhirServer(token=token, port=args.port, host=args.host, public_base_url=args.public_url) as server:
            for label, bundle in bundles:
                response = server.load(bundle)
                print(f"loaded {label}: {len(response.get('entry', []))} resources", flush=True)
            if args.ready_file:
                args.ready_file.touch()
            print(f"FHIR server ready: {server.base_url} (send it as fhirServer)", flush=True)
            if token:
                print(f"It accepts only 'Authorization: Bearer {token}': send {token!r} as "
                      "fhirAuthorization.access_token (the service passes it on). --no-token: no authentication.")
            else:
                print("No authentication: list it in CDS_FHIR_OPEN_SERVERS for calls without fhirAuthorization.")
            print("Ctrl-C stops it.", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
    except FhirServerError as error:
        print(f"fhir_server: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
