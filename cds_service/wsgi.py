"""The WSGI entry point for gunicorn: `cds_service.wsgi:app` (settings from the environment)."""

from cds_service.app import create_app
from cds_service.support.collection import settle_for_serving

app = create_app()
settle_for_serving(app)  # start-up frozen, collections between calls, freed memory kept for the next call
