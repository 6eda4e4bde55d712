"""The `nxp2-cds` command: print settings, evaluate a FHIR Bundle offline."""

from __future__ import annotations

import argparse
import sys

from cds_service.auth.demo import DEMO_ISSUER
from cds_service.auth.trust import trusted_issuers
from cds_service.config import Settings, SettingsError

DEVELOPMENT_WARNING = """\
  ************************************************************************************
  *  WARNING: DEVELOPMENT MODE. Calls WITHOUT a JWT are ACCEPTED (a JWT that is sent  *
  *  is still verified). Never expose this service; set CDS_MODE=production.         *
  ************************************************************************************"""


def _settings(_: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        issuers = sorted(trusted_issuers(settings))
    except SettingsError as error:
        print(f"nxp2-cds: {error}", file=sys.stderr)
        return 2
    banner = "DEVELOPMENT MODE: calls without a JWT are accepted" if settings.development else "production mode"
    if settings.development:
        print(DEVELOPMENT_WARNING)
        issuers.append(f"{DEMO_ISSUER} (demo EHR, key generated in CDS_DATA_DIR, development only)")
    print(f"nxp2-cds settings ({banner}):")
    for name, value in settings.describe().items():
        print(f"  {name} = {value}")
    print(f"  trusted JWT issuers: {', '.join(issuers) or 'none'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nxp2-cds", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("settings", help="print the settings read from CDS_* variables").set_defaults(run=_settings)
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
