"""`GET /evidence` and `GET /evidence/{card-id}`: the evidence pages every card links to.

Public and cacheable: the pages come from the catalogue alone (no patient data, no JWT), so an EHR, a
browser or a proxy may keep them for a day and revalidate with the ETag.
"""

from __future__ import annotations

from flask import Response, current_app, request

from cds_service.api import bp
from cds_service.api.context import services
from cds_service.cards.evidence_page import CONTENT_SECURITY_POLICY, card_page, index_page, missing_page
from cds_service.config import Settings

CACHE_SECONDS = 86_400


def _index_url() -> str:
    settings: Settings = current_app.config["SETTINGS"]
    return f"{settings.public_base_url}/evidence"


def _html(body: str, status: int = 200) -> Response:
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    if status == 200:
        response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
        response.add_etag()
        response.make_conditional(request)  # 304 without a body when the ETag matches (changes it in place)
        return response
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/evidence")
def evidence_index() -> Response:
    """List the evidence page of every card kind."""
    return _html(index_page(services().catalogue, _index_url()))


@bp.get("/evidence/<card_id>")
def evidence(card_id: str) -> Response:
    """The evidence page of one card kind, or a 404 page."""
    entry = services().catalogue.rules.get(card_id)
    if entry is None:
        return _html(missing_page(_index_url()), status=404)
    return _html(card_page(entry, _index_url()))
