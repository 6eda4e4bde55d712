"""Access the app's `Services` from a view."""

from __future__ import annotations

from flask import current_app

from cds_service.hooks.evaluate import Services


def services() -> Services:
    wired: Services = current_app.extensions["nxp2_cds"]
    return wired
