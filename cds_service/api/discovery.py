"""`GET /cds-services`: the discovery document, rendered from the catalogue."""

from __future__ import annotations

from flask import Response

from cds_service.api import bp
from cds_service.api.context import services
from cds_service.api.responses import json_response
from cds_service.protocol import DiscoveryResponse


@bp.get("/cds-services")
# Integrators often type the discovery URL with a trailing slash. A redirect would break the browser's CORS
# preflight (and the CDS Hooks sandbox then shows nothing), so the same document is served there too.
@bp.get("/cds-services/")
def discover() -> Response:
    """List the CDS services this server hosts."""
    body = DiscoveryResponse(services=services().catalogue.service_definitions())
    return json_response(body.dump())
