"""`POST /cds-services/{id}`: call a CDS service."""

from __future__ import annotations

from flask import Response, g

from cds_service.api import bp
from cds_service.api.body import check_prefetch, parse
from cds_service.api.context import services
from cds_service.api.responses import json_response
from cds_service.hooks.evaluate import evaluate, find_service
from cds_service.protocol import HookRequest


@bp.post("/cds-services/<service_id>")
def call(service_id: str) -> Response:
    """Evaluate one hook call and return its cards."""
    find_service(services(), service_id)  # 404 before reading the body
    hook_request = parse(HookRequest)
    g.hook_instance = hook_request.hookInstance
    check_prefetch(hook_request.prefetch)
    evaluation = evaluate(service_id, hook_request, services(), caller=g.caller)
    g.card_ids = [r.rule_id for r in evaluation.rendered]
    response = json_response(evaluation.response.dump())
    # The decoded prefetch and the facts (tens of thousands of objects on a long chart) are freed once the
    # answer is sent, not before: the server closes the response after writing it (2,000 Observations over
    # HTTP: the answer 2.5 ms sooner).
    response.call_on_close(HeldUntilSent(hook_request, evaluation))
    return response


class HeldUntilSent:
    """Keeps objects alive until it is called (by the response's close), then lets them go."""

    def __init__(self, *objects: object) -> None:
        self.objects = objects

    def __call__(self) -> None:
        self.objects = ()
