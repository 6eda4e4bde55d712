"""`POST /cds-services/{id}/feedback`: record what clinicians did with our cards.

Two limits keep a flood from filling the store (issue 16): items per request (413 above
CDS_MAX_FEEDBACK_ITEMS, checked before the items are validated) and, per caller, items for cards this
service never issued (429 with Retry-After once CDS_UNKNOWN_FEEDBACK_PER_MINUTE is spent).
"""

from __future__ import annotations

import time
from typing import Any

from flask import Response, current_app, g, request

from cds_service.api import bp
from cds_service.api.body import parse
from cds_service.api.context import services
from cds_service.api.errors import PayloadTooLarge, TooManyRequests
from cds_service.api.responses import json_response
from cds_service.config import Settings
from cds_service.hooks.caller import ANONYMOUS
from cds_service.hooks.evaluate import find_service, record_feedback
from cds_service.protocol import FeedbackRequest, FeedbackResponse
from cds_service.support.rate_limit import RateLimit

LIMITER = "nxp2_cds_unknown_feedback"


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    """Store every feedback item; 500 if the store fails (nothing is dropped silently)."""
    find_service(services(), service_id)
    feedback_request = parse(FeedbackRequest, check=_count_items)
    limiter, caller = _limiter(), _caller_key()
    wait = limiter.wait_s(caller, time.monotonic())
    if wait:
        raise TooManyRequests(
            "too much feedback for cards this service never issued; nothing was stored, send it later", wait)
    result = record_feedback(service_id, feedback_request, services())
    limiter.spend(caller, result.unknown_cards, time.monotonic())
    g.feedback_outcomes = [item.outcome for item in feedback_request.feedback]
    body = FeedbackResponse(
        stored=result.stored, duplicates=result.duplicates, unknownCards=result.unknown_cards
    )
    return json_response(body.dump())


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _count_items(body: dict[str, Any]) -> None:
    items = body.get("feedback")
    limit = _settings().max_feedback_items
    if isinstance(items, list) and len(items) > limit:
        raise PayloadTooLarge(f"feedback has {len(items)} items; at most {limit} are accepted in one request")


def _limiter() -> RateLimit:
    limiter: RateLimit = current_app.extensions.setdefault(
        LIMITER, RateLimit(_settings().unknown_feedback_per_minute))
    return limiter


def _caller_key() -> tuple[str | None, ...]:
    """The verified issuer and tenant; for an unauthenticated development call, the peer address."""
    caller = g.caller
    if caller == ANONYMOUS:
        return ("anonymous", request.remote_addr)
    return (caller.issuer, caller.tenant)
