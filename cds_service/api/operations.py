"""Operational endpoints: `/healthz` for load balancers."""

from __future__ import annotations

from flask import Response

from cds_service.api import bp
from cds_service.api.responses import json_response


@bp.get("/healthz")
def healthz() -> Response:
    """Report that the process is up and its catalogue loaded."""
    return json_response({"status": "ok"})
