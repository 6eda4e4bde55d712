"""`POST /cds-services/{id}/feedback`: record what clinicians did with our cards."""

from __future__ import annotations

from flask import Response, g

from cds_service.api import bp
from cds_service.api.body import parse
from cds_service.api.context import services
from cds_service.api.responses import json_response
from cds_service.hooks.evaluate import find_service, record_feedback
from cds_service.protocol import FeedbackRequest, FeedbackResponse


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    """Store every feedback item; 500 if the store fails (nothing is dropped silently)."""
    find_service(services(), service_id)
    feedback_request = parse(FeedbackRequest)
    result = record_feedback(service_id, feedback_request, services())
    g.feedback_outcomes = [item.outcome for item in feedback_request.feedback]
    body = FeedbackResponse(
        stored=result.stored, duplicates=result.duplicates, unknownCards=result.unknown_cards
    )
    return json_response(body.dump())
