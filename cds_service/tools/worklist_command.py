"""`nxp2-cds worklist`: the cards due for every anti-NXP2 patient of a Bulk FHIR export (docs/worklist.md)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cds_service.config import Settings
    from cds_service.hooks.evaluate import Services
    from cds_service.worklist.progress import Bars
    from cds_service.worklist.rows import FetchFrom


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
    parser.add_argument("--scope", default="system/*.read", help="scopes asked for (default: %(default)s)")
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


def _read_types(settings: Settings) -> frozenset[str]:
    """The resource types the service's prefetch reads: the export's `_type`."""
    from cds_service.cards.catalogue import load_catalogue
    from cds_service.rules import REGISTRY
    from cds_service.worklist.rows import template_types

    (definition,) = load_catalogue(settings.catalogue_dir, REGISTRY).service_definitions()
    return frozenset(template_types(definition).values())


def run(args: argparse.Namespace) -> int:
    from cds_service.app import build_services
    from cds_service.cards.catalogue import CatalogueError
    from cds_service.config import Settings, SettingsError
    from cds_service.facts.valuesets import ValueSetError
    from cds_service.storage.records import NotRecorded
    from cds_service.support.clock import FixedClock
    from cds_service.worklist import report
    from cds_service.worklist.bulk import BulkError
    from cds_service.worklist.problems import Problems
    from cds_service.worklist.progress import Bars
    from cds_service.worklist.run import run_worklist
    from cds_service.worklist.scan import ScanError
    from cds_service.worklist.smart import SmartAuthError
    from cds_service.worklist.source import SourceError, export_files

    bars = Bars(enabled=False if args.quiet else None)
    problems = Problems()
    try:
        now = _now(args.now)  # one instant for the whole run: every patient is evaluated as of it
        settings = Settings.from_env()
        folder, fetch = args.ndjson, None
        if args.fhir:
            exported = _export(args, _read_types(settings), bars)
            if exported is None:
                return 130
            folder, fetch = exported
        with tempfile.TemporaryDirectory(prefix="nxp2-cds-worklist-") as scratch:
            # Offline evaluation, as `nxp2-cds evaluate`: a throw-away SQLite file; the cards are not recorded.
            offline = dataclasses.replace(settings, data_dir=Path(scratch), database_url="", card_audit=False)
            services = build_services(offline, clock=FixedClock(now), records=NotRecorded())
            if fetch is not None:
                services = _fetching(services, offline, fetch.base)
            (definition,) = services.catalogue.service_definitions()
            files = export_files(folder, problems)
            outcome = run_worklist(files, services, definition, problems, source=str(args.fhir or folder),
                                   temp_dir=Path(scratch), bars=bars, memory_limit=args.memory_limit, fetch=fetch)
    except (SettingsError, CatalogueError, ValueSetError, SourceError, ScanError, OSError, ValueError) as error:
        return _fail(str(error))
    except (BulkError, SmartAuthError) as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    rows = report.sort_rows(outcome.rows)
    paths = report.write_all(rows, outcome.problems, outcome.run, settings.public_base_url, args.out)
    for line in report.summary(rows, outcome.problems, outcome.run):
        print(line)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _since(text: str) -> str:
    """`_since` in UTC with Z and milliseconds: some servers (sekmet) compare it as text with their own
    `lastUpdated`, and "…37Z" sorts after "…37.964Z" of the same second (measured)."""
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError(f"--since {text}: give a time zone, for example 2026-11-01T00:00:00Z")
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fetching(services: Services, settings: Settings, base: str) -> Services:
    """Services that may fetch from the one FHIR server the user named (any address but cloud metadata)."""
    from cds_service.fhir_client.policy import FhirPolicy
    from cds_service.hooks.prefetch import FhirAccess

    policy = FhirPolicy([("*", "*", (base,))], allowed_networks=["0.0.0.0/0", "::/0"])
    access = FhirAccess.from_settings(settings)
    # A whole record per patient, read without a clinician waiting: a longer budget than a hook call's.
    access = dataclasses.replace(access, policy=policy, budget_s=max(access.budget_s, 30.0))
    return dataclasses.replace(services, fhir=access)


def _export(args: argparse.Namespace, types: frozenset[str], bars: Bars) -> tuple[Path, FetchFrom | None] | None:
    """Run (or follow, with --resume) the export and download it into OUT/export; None after Ctrl-C.

    With --since, also how to read each patient's whole record from the server (the export has changes only).
    """
    import requests

    from cds_service.worklist.bulk import BulkClient
    from cds_service.worklist.rows import FetchFrom
    from cds_service.worklist.smart import BackendAuth, ClientKey, discover_token_endpoint

    if not args.client_id or not args.key:
        raise ValueError("--fhir needs --client-id and --key")
    since = _since(args.since) if args.since else None
    key = ClientKey.load(args.key)
    session = requests.Session()
    auth = BackendAuth(discover_token_endpoint(args.fhir, session), args.client_id, key, args.scope, session)
    client = BulkClient(args.fhir, auth, session, bars)
    status_url = args.resume or client.kickoff(types, args.group, since)
    fetch = FetchFrom(args.fhir.rstrip("/"), auth.token, args.scope, args.client_id) if since else None
    try:  # from here on Ctrl-C cancels the export (the line below may itself be interrupted)
        print(f"export status URL: {status_url} (follow it again with --resume)", file=sys.stderr, flush=True)
        manifest = client.wait(status_url)
        return client.download(manifest, args.out / "export"), fetch
    except KeyboardInterrupt:
        cancelled = client.cancel(status_url)
        print("interrupted: the export was cancelled" if cancelled else
              f"interrupted: the server did not accept the cancel; the export may still run at {status_url}",
              file=sys.stderr)
        return None
