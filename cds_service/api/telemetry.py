"""Per-request telemetry: one JSON log line and the Prometheus counts for every response.

Reads only ids and timings from `flask.g` (hookInstance, card ids, feedback outcomes, and the verified JWT's
iss, tenant and jti when the security layer set them): never a header, a token or a body.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from flask import Flask, Response, current_app, g, request

from cds_service.observability import Metrics

log = logging.getLogger("cds_service.request")

UNMATCHED = "<unmatched>"  # 404/405 before routing: one label value, not one per probed path
# Any token is a valid HTTP method: the others share one label, so a client cannot create series at will.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
REQUEST_ID_HEADER = "X-Request-Id"
ID_CHARS = 128  # ids come from the client: a UUID fits, a flood does not


def metrics() -> Metrics:
    wired: Metrics = current_app.extensions["nxp2_cds_metrics"]
    return wired


def _start() -> None:
    g.started_at = time.perf_counter()
    # Ours, never the client's: an integrator quotes it from the X-Request-Id header, the operator finds
    # the log lines (the request line, and the reason of a 401) that carry it.
    g.request_id = uuid.uuid4().hex


def _finish(response: Response) -> Response:
    duration = time.perf_counter() - getattr(g, "started_at", time.perf_counter())
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    service = (request.view_args or {}).get("service_id", "")
    method = request.method if request.method in METHODS else "OTHER"
    wired = metrics()
    wired.requests.labels(route, method, str(response.status_code)).inc()
    wired.latency.labels(route, method).observe(duration)
    for card_id in getattr(g, "card_ids", ()):
        wired.cards.labels(service, card_id).inc()
    for outcome in getattr(g, "feedback_outcomes", ()):
        wired.feedback.labels(service, outcome).inc()

    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    fields: dict[str, Any] = {
        "request_id": g.get("request_id", ""),
        "route": route,
        "method": method,
        "status": response.status_code,
        "duration_ms": round(duration * 1000, 2),
    }
    optional = {
        "hookInstance": str(getattr(g, "hook_instance", ""))[:ID_CHARS],
        "service": service[:ID_CHARS],
        "cards": getattr(g, "card_ids", None),
        "iss": getattr(g, "jwt_iss", None),
        "tenant": getattr(g, "jwt_tenant", None),
        "jti": getattr(g, "jwt_jti", None),
    }
    fields.update({key: value for key, value in optional.items() if value})
    log.info("request", extra=fields)
    return response


def install(app: Flask) -> None:
    """Count and log every response of the app, error responses and CORS preflights included."""
    app.extensions["nxp2_cds_metrics"] = Metrics.create()
    app.before_request(_start)
    app.after_request(_finish)
