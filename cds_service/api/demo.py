"""The demo EHR at /demo (development mode only): a patient list, a chart and our cards, in the browser.

The page (static/demo/) calls the service from the browser like the public CDS Hooks sandbox does: it
reads discovery, fetches the prefetch templates from the demo FHIR server, signs nothing itself, and posts
`patient-view` and feedback with a JWT of the demo EHR. The routes here exist only in development mode
(production answers 404 for all of them) and give the page what an EHR has on its own side:

- `GET /demo/config`: the service's public base URL and the demo FHIR server (CDS_DEMO_FHIR_URL);
- `POST /demo/token` {"aud": url}: a 60-second JWT of the demo EHR for exactly one of our endpoints,
  signed on the server (auth/demo.py) so the private key never reaches the browser;
- `GET /demo/fhir/<Type>[/<id>]?query`: a read-only proxy to CDS_DEMO_FHIR_URL, so the browser needs no
  route to the FHIR server, which stays on loopback;
- `POST /demo/summary` {"patient": ..., "resources": [...]}: the chart summary from the facts layer.
"""

from __future__ import annotations

import logging
import re

import requests
from flask import Blueprint, Flask, Response, current_app, request

from cds_service.api.body import json_body
from cds_service.api.context import services
from cds_service.api.errors import ApiError, BadRequest
from cds_service.api.responses import json_response
from cds_service.auth.demo import DEMO_ISSUER, sign_demo_jwt
from cds_service.config import Settings
from cds_service.hooks.chart import chart_summary

log = logging.getLogger(__name__)

bp = Blueprint("demo", __name__, url_prefix="/demo", static_folder="static/demo", static_url_path="/static")

TOKEN_LIFETIME_S = 60
FHIR_TIMEOUT_S = 5.0
FHIR_MAX_BYTES = 10_000_000
# What the proxy forwards: a type, a type and id, or the capability statement; nothing with `..` or `//`.
_FHIR_PATH = re.compile(r"^(metadata|[A-Z][A-Za-z]{1,63}(/[A-Za-z0-9\-.]{1,64})?)$")
# The browser may look at the page, its own files and our API only (no inline script, no other origin).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# The demo clinician, as the EHR user in `context.userId`.
DEMO_USER = "Practitioner/demo-clinician"


class BadGateway(ApiError):
    status, issue_code = 502, "transient"


class ServiceUnavailable(ApiError):
    status, issue_code = 503, "transient"


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("", strict_slashes=False)
def page() -> Response:
    """Serve the demo EHR page."""
    return bp.send_static_file("index.html")


@bp.get("/config")
def config() -> Response:
    """Tell the page where the service and the demo FHIR server are."""
    settings = _settings()
    return json_response({
        "serviceBase": settings.public_base_url,
        "fhirServer": settings.demo_fhir_url or None,
        "fhirProxy": "/demo/fhir",
        "userId": DEMO_USER,
        "issuer": DEMO_ISSUER,
    })


def _allowed_audience(aud: str, settings: Settings) -> bool:
    base = settings.public_base_url + "/cds-services"
    if aud == base:
        return True
    ids = {entry.id for entry in services().catalogue.services.values()}
    return any(aud in (f"{base}/{service_id}", f"{base}/{service_id}/feedback") for service_id in ids)


@bp.post("/token")
def token() -> Response:
    """Return a short-lived demo-EHR JWT for exactly one endpoint of this service (`aud`)."""
    body = json_body()
    aud = body.get("aud") if isinstance(body, dict) else None
    settings = _settings()
    if not isinstance(aud, str) or not _allowed_audience(aud, settings):
        raise BadRequest("aud must be the URL of one of this service's CDS Hooks endpoints")
    jwt = sign_demo_jwt(settings, aud, services().clock.now(), lifetime_s=TOKEN_LIFETIME_S)
    return json_response({"jwt": jwt, "expiresIn": TOKEN_LIFETIME_S})


@bp.get("/fhir/<path:path>")
def fhir(path: str) -> Response:
    """Read from the demo FHIR server (GET only, its base URL only) and pass the answer on."""
    base = _settings().demo_fhir_url
    if not base:
        raise ServiceUnavailable("no demo FHIR server is configured (CDS_DEMO_FHIR_URL); `make run` starts one")
    if not _FHIR_PATH.match(path):
        raise BadRequest("only metadata, <Type> searches and <Type>/<id> reads are proxied")
    query = request.query_string.decode("ascii", errors="replace")
    url = f"{base}/{path}" + (f"?{query}" if query else "")
    try:
        with requests.get(url, headers={"Accept": "application/fhir+json"}, timeout=FHIR_TIMEOUT_S,
                          allow_redirects=False, stream=True) as answer:
            body = answer.raw.read(FHIR_MAX_BYTES + 1, decode_content=True)
            status = answer.status_code
    except requests.RequestException as error:
        log.warning("demo FHIR server unreachable: %s", type(error).__name__)
        raise BadGateway("the demo FHIR server did not answer") from None
    if len(body) > FHIR_MAX_BYTES:
        raise BadGateway("the demo FHIR server's answer is too large")
    return Response(body, status=status if status < 500 else 502, mimetype="application/fhir+json")


@bp.post("/summary")
def summary() -> Response:
    """Return the chart summary (facts layer) of the patient and resources the page read."""
    body = json_body()
    patient = body.get("patient") if isinstance(body, dict) else None
    resources = body.get("resources") if isinstance(body, dict) else None
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise BadRequest("patient must be a Patient resource")
    if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
        raise BadRequest("resources must be a list of FHIR resources")
    return json_response(chart_summary(patient, resources, services()))


def install(app: Flask, settings: Settings) -> None:
    """Serve /demo in development mode only (Settings refuses CDS_DEMO_FHIR_URL in production)."""
    if not settings.development:
        return
    app.register_blueprint(bp)
    log.warning("DEVELOPMENT MODE: the demo EHR is served at /demo (demo FHIR server: %s)",
                settings.demo_fhir_url or "none")
