"""The WSGI entry point for gunicorn: `cds_service.wsgi:app` (settings from the environment)."""

import gc

from cds_service.app import create_app

app = create_app()
# What start-up built (modules, catalogue, value sets, growth references) lives as long as the process:
# freeze it out of the garbage collector's reach. Otherwise every full collection in a worker walks those
# ~120,000 objects again (pauses of tens of ms under load; docs/performance.md), and touching them after
# fork copies pages the workers could share. With preload_app this runs once, in the master.
gc.freeze()
