"""`nxp2-cds worklist`: the cards due for every anti-NXP2 patient of a Bulk FHIR export (docs/worklist.md)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "worklist", help="the cards due for every anti-NXP2 patient of a Bulk FHIR export (docs/worklist.md)",
        description="Read a FHIR Bulk Data export (from a server, or on disk) and list, per patient, the cards "
                    "the hook would show, as worklist.csv, worklist.json and worklist.html.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ndjson", type=Path, metavar="DIR", help="an export already on disk (*.ndjson, .gz too)")
    source.add_argument("--fhir", metavar="BASE", help="export from this FHIR server (SMART Backend Services)")
    parser.add_argument("--client-id", help="the SMART client id registered at the server (with --fhir)")
    parser.add_argument("--key", type=Path, metavar="FILE", help="PEM private key, EC P-384 or RSA (with --fhir)")
    parser.add_argument("--group", metavar="ID", help="export Group/ID (default: every patient, Patient/$export)")
    parser.add_argument("--since", metavar="INSTANT", help="only resources changed since (sent as _since, UTC)")
    parser.add_argument("--resume", metavar="STATUS_URL", help="follow an export already kicked off")
    parser.add_argument("--out", type=Path, default=Path("worklist"), help="output folder (default: %(default)s)")
    parser.add_argument("--now", help="evaluate as of this instant (ISO 8601 with zone); default: now")
    parser.add_argument("--memory-limit", default="512MB", help="DuckDB's memory limit (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars, summary only")
    parser.set_defaults(run=run)


def _fail(message: str) -> int:
    print(f"nxp2-cds worklist: {message}", file=sys.stderr)
    return 2


def _now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    now = datetime.fromisoformat(text)
    if now.tzinfo is None:
        raise ValueError(f"--now {text}: give a time zone, for example 2026-11-24T09:00:00Z")
    return now


def run(args: argparse.Namespace) -> int:
    from cds_service.app import build_services
    from cds_service.cards.catalogue import CatalogueError
    from cds_service.config import Settings, SettingsError
    from cds_service.facts.valuesets import ValueSetError
    from cds_service.support.clock import FixedClock
    from cds_service.worklist import report
    from cds_service.worklist.problems import Problems
    from cds_service.worklist.progress import Bars
    from cds_service.worklist.run import run_worklist
    from cds_service.worklist.scan import ScanError
    from cds_service.worklist.source import SourceError, export_files

    bars = Bars(enabled=False if args.quiet else None)
    problems = Problems()
    try:
        now = _now(args.now)  # one instant for the whole run: every patient is evaluated as of it
        settings = Settings.from_env()
        folder = args.ndjson
        if args.fhir:
            folder = _export(args, settings, bars, problems)
            if folder is None:
                return 130
        with tempfile.TemporaryDirectory(prefix="nxp2-cds-worklist-") as scratch:
            # Offline evaluation, as `nxp2-cds evaluate`: card records go to a throw-away SQLite file.
            offline = dataclasses.replace(settings, data_dir=Path(scratch), database_url="", card_audit=False)
            services = build_services(offline, clock=FixedClock(now))
            (definition,) = services.catalogue.service_definitions()
            files = export_files(folder, problems)
            outcome = run_worklist(files, services, definition, problems, source=str(args.fhir or folder),
                                   temp_dir=Path(scratch), bars=bars, memory_limit=args.memory_limit)
    except (SettingsError, CatalogueError, ValueSetError, SourceError, ScanError, OSError, ValueError) as error:
        return _fail(str(error))
    except _BulkFailure as error:
        return _fail(str(error))
    rows = report.sort_rows(outcome.rows)
    paths = report.write_all(rows, outcome.problems, outcome.run, settings.public_base_url, args.out)
    for line in report.summary(rows, outcome.problems, outcome.run):
        print(line)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


class _BulkFailure(RuntimeError):
    pass


def _export(args: argparse.Namespace, settings: object, bars: object, problems: object) -> Path | None:
    raise _BulkFailure("--fhir is not available yet")
