"""Operational endpoints: `/healthz` (liveness) and `/readyz` (readiness) for probes, `/metrics`, `/openapi.json`."""

from __future__ import annotations

from flask import Response, abort, current_app, request

from cds_service.api import bp
from cds_service.api.context import services
from cds_service.api.openapi import openapi_document
from cds_service.api.responses import json_response
from cds_service.api.telemetry import metrics as app_metrics
from cds_service.hooks.health import liveness, readiness
from cds_service.protocol import Health
from cds_service.storage.availability import RETRY_AFTER_S


def _health(checks: dict[str, str]) -> Response:
    healthy = all(state == "ok" for state in checks.values())
    body = Health(status="ok" if healthy else "unavailable", checks=checks)  # type: ignore[arg-type]
    response = json_response(body.dump(), 200 if healthy else 503)
    if not healthy:
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process serves. Never touches the database (an outage must not restart the pods)."""
    return _health(liveness(services()))


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness: the database answers SELECT 1 within its short deadline (checked at most once a second)."""
    return _health(readiness(services()))


def _metrics_port() -> str | None:
    """The port of CDS_METRICS_BIND, when /metrics has a port of its own."""
    bind: str = current_app.config["SETTINGS"].metrics_bind
    return bind.rsplit(":", 1)[1] if bind else None


def _on_metrics_port() -> bool:
    # gunicorn sets SERVER_PORT from the listening socket, never from the client's Host header.
    return request.environ.get("SERVER_PORT") == _metrics_port()


@bp.before_app_request
def metrics_port_serves_metrics_only() -> None:
    """The metrics port (CDS_METRICS_BIND) answers /metrics and nothing else."""
    if _metrics_port() is not None and _on_metrics_port() and request.path != "/metrics":
        abort(404)


@bp.get("/metrics")
def metrics() -> Response:
    """Expose the Prometheus metrics of all workers: 404 when CDS_METRICS is off, and on every port but
    CDS_METRICS_BIND's when that is set (so the public port never shows them)."""
    if not current_app.config["SETTINGS"].metrics_enabled or (_metrics_port() is not None and not _on_metrics_port()):
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
