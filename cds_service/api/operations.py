"""Operational endpoints: `/healthz` for load balancers, `/metrics` for Prometheus, `/openapi.json`."""

from __future__ import annotations

from flask import Response, abort, current_app

from cds_service.api import bp
from cds_service.api.context import services
from cds_service.api.openapi import openapi_document
from cds_service.api.responses import json_response
from cds_service.api.telemetry import metrics as app_metrics
from cds_service.hooks.health import check_dependencies
from cds_service.protocol import Health


@bp.get("/healthz")
def healthz() -> Response:
    """Report whether the process can serve: its catalogue is loaded and its feedback store answers."""
    checks = check_dependencies(services())
    healthy = all(state == "ok" for state in checks.values())
    body = Health(status="ok" if healthy else "unavailable", checks=checks)  # type: ignore[arg-type]
    return json_response(body.dump(), 200 if healthy else 503)


@bp.get("/metrics")
def metrics() -> Response:
    """Expose the Prometheus metrics of all workers (404 when CDS_METRICS is off)."""
    if not current_app.config["SETTINGS"].metrics_enabled:
        abort(404)
    body, content_type = app_metrics().render()
    return Response(body, mimetype=None, content_type=content_type)


@bp.get("/openapi.json")
def openapi() -> Response:
    """Describe every endpoint of this deployment as OpenAPI 3.1."""
    settings = current_app.config["SETTINGS"]
    definitions = services().catalogue.service_definitions()
    document = openapi_document(
        definitions, jwt_required=not settings.development, base_url=settings.public_base_url,
        card_ids=sorted(services().catalogue.rules),
    )
    return json_response(document)
