"""The WSGI entry point for gunicorn: `cds_service.wsgi:app` (settings from the environment)."""

from cds_service.app import create_app

app = create_app()
