"""The `nxp2-cds` command: print the settings, regenerate their docs, build a request from a FHIR Bundle."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

import orjson

from cds_service.auth.demo import DEMO_ISSUER
from cds_service.auth.trust import trusted_issuers
from cds_service.config import Settings, SettingsError

DEVELOPMENT_WARNING = """\
  ************************************************************************************
  *  WARNING: DEVELOPMENT MODE. Calls WITHOUT a JWT are ACCEPTED (a JWT that is sent  *
  *  is still verified). Never expose this service; set CDS_MODE=production.         *
  ************************************************************************************"""


def _fail(message: str) -> int:
    print(f"nxp2-cds: {message}", file=sys.stderr)
    return 2


def _settings(args: argparse.Namespace) -> int:
    from cds_service.tools import settings_docs

    if args.markdown:
        print(settings_docs.settings_table(), end="")
        return 0
    try:
        settings = Settings.from_env()
        issuers = sorted(trusted_issuers(settings))
    except SettingsError as error:
        return _fail(str(error))
    banner = "DEVELOPMENT MODE: calls without a JWT are accepted" if settings.development else "production mode"
    if settings.development:
        print(DEVELOPMENT_WARNING)
        issuers.append(f"{DEMO_ISSUER} (demo EHR, key generated in CDS_DATA_DIR, development only)")
    print(f"nxp2-cds settings ({banner}):")
    for name, value in settings.describe().items():
        print(f"  {name} = {value}")
    print(f"  trusted JWT issuers: {', '.join(issuers) or 'none'}")
    return 0


def _docs(_: argparse.Namespace) -> int:
    from cds_service.tools import settings_docs

    for path in settings_docs.write():
        print(f"rewrote {path}")
    return 0


def _request(args: argparse.Namespace) -> int:
    from cds_service.cards.catalogue import CatalogueError, load_catalogue
    from cds_service.rules import REGISTRY
    from cds_service.tools.hook_request import BundleError, build_request

    try:
        catalogue = load_catalogue(Settings.from_env().catalogue_dir, REGISTRY)
        bundle = orjson.loads(Path(args.bundle).read_bytes())
        as_of = _instant(args.now)
    except (SettingsError, CatalogueError, OSError, orjson.JSONDecodeError, ValueError) as error:
        return _fail(str(error))
    if as_of is not None:  # the live service reads today's clock: move the data instead
        from datetime import UTC, datetime

        from cds_service.tools.date_shift import clock_shift, shift_dates

        bundle = shift_dates(bundle, *clock_shift(as_of, datetime.now(UTC)))
    ids = list(catalogue.services) if args.service is None else [args.service]
    if len(ids) != 1 or catalogue.service(ids[0]) is None:
        return _fail(f"name one service with --service (known: {', '.join(catalogue.services)})")
    definition = next(d for d in catalogue.service_definitions() if d.id == ids[0])
    try:
        request = build_request(bundle, definition, user_id=args.user)
    except BundleError as error:
        return _fail(f"{args.bundle}: {error}")
    sys.stdout.write(orjson.dumps(request, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def _instant(text: str | None) -> datetime | None:
    """--now: an ISO 8601 instant with a time zone, or None when not given.

    Raises:
        ValueError: not an ISO 8601 instant, or one without a zone.
    """
    if text is None:
        return None
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError(f"--now {text}: give a time zone, for example 2026-11-24T09:00:00Z")
    return instant


def _evaluate(args: argparse.Namespace) -> int:
    """Evaluate a Bundle offline through the same code path as a hook call: request, prefetch, facts, rules."""
    import dataclasses
    import tempfile

    from cds_service.app import build_services
    from cds_service.cards.catalogue import CatalogueError
    from cds_service.facts.valuesets import ValueSetError
    from cds_service.hooks.errors import PrefetchUnavailable
    from cds_service.hooks.evaluate import evaluate
    from cds_service.protocol import HookRequest
    from cds_service.storage.records import NotRecorded
    from cds_service.support.clock import FixedClock, SystemClock
    from cds_service.tools.hook_request import BundleError, build_request

    try:
        as_of = _instant(args.now)
    except ValueError as error:
        return _fail(str(error))
    try:
        clock = SystemClock() if as_of is None else FixedClock(as_of)
        bundle = orjson.loads(Path(args.bundle).read_bytes())
        with tempfile.TemporaryDirectory(prefix="nxp2-cds-evaluate-") as scratch:
            # Offline: a throw-away SQLite file, never the service's store; the cards are not recorded.
            settings = dataclasses.replace(
                Settings.from_env(), data_dir=Path(scratch), database_url="", card_audit=False
            )
            services = build_services(settings, clock=clock, records=NotRecorded())
            (definition,) = services.catalogue.service_definitions()
            request = HookRequest.model_validate(build_request(bundle, definition))
            evaluation = evaluate(definition.id, request, services)
    except (SettingsError, CatalogueError, ValueSetError, OSError, ValueError, BundleError,
            PrefetchUnavailable) as error:
        return _fail(f"{args.bundle}: {error}")
    if args.format == "json":
        sys.stdout.write(orjson.dumps(evaluation.response.dump(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    rows = [(r.card.indicator, r.rule_id, r.card.summary) for r in evaluation.rendered]
    print(f"{len(rows)} card(s) for Patient/{evaluation.facts.patient_id} at {clock.now().isoformat()}")
    for indicator, card_id, summary in rows:
        print(f"{indicator:<9} {card_id:<38} {summary}")
    return 0


def main(argv: list[str] | None = None) -> int:
    # Wide enough that every subcommand's help stays on one line of `nxp2-cds --help`.
    parser = argparse.ArgumentParser(prog="nxp2-cds", description=__doc__,
                                     formatter_class=lambda prog: argparse.HelpFormatter(prog, width=120))
    commands = parser.add_subparsers(dest="command", required=True)
    settings = commands.add_parser("settings", help="print the settings read from CDS_* variables")
    settings.add_argument("--markdown", action="store_true", help="print the README table of every setting")
    settings.set_defaults(run=_settings)
    commands.add_parser(
        "docs", help="rewrite the README settings table and deploy/.env.example from cds_service/config/"
    ).set_defaults(run=_docs)
    request = commands.add_parser(
        "request", help="print a CDS Hooks request whose prefetch holds a FHIR Bundle's resources"
    )
    request.add_argument("bundle", help="a FHIR collection or searchset Bundle (JSON file)")
    request.add_argument("--service", help="the service id (default: the only service in the catalogue)")
    request.add_argument("--user", default="Practitioner/example", help="context.userId (default: %(default)s)")
    request.add_argument("--now", help="the instant the Bundle describes (ISO 8601 with zone): its dates move by "
                         "(now - that instant), so today's service sees the patient as at that instant")
    request.set_defaults(run=_request)
    evaluate = commands.add_parser("evaluate", help="print the cards for a FHIR Bundle, offline")
    evaluate.add_argument("bundle", help="a FHIR collection or searchset Bundle (JSON file) with one Patient")
    evaluate.add_argument("--now", help="evaluate as of this instant (ISO 8601 with zone); default: now")
    evaluate.add_argument("--format", choices=("table", "json"), default="table", help="default: %(default)s")
    evaluate.set_defaults(run=_evaluate)
    from cds_service.tools import keys

    keys.register(commands)  # `keys` and `jwt`: register an EHR (docs/security.md)

    from cds_service.tools import worklist_command

    worklist_command.add_parser(commands)
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
