"""Build the draft ServiceRequests that card suggestions propose, validated with fhir.resources R4B.

Each suggestion is validated once, when the catalogue loads, into a template; a request then only
copies the template and sets the subject. Full model validation on every request would cost far more
than the rest of the evaluation (terminology.md section 5), and the template is what varies never.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from fhir.resources.R4B.servicerequest import ServiceRequest

from cds_service.cards.catalogue import SuggestionEntry

TEMPLATE_SUBJECT = "Patient/template"


def validated_service_request(entry: SuggestionEntry, patient_id: str) -> dict[str, Any]:
    """Return a draft, proposed ServiceRequest for the patient, checked against the R4 model."""
    resource = ServiceRequest.model_validate(
        {
            "resourceType": "ServiceRequest",
            "status": "draft",
            "intent": "proposal",
            "subject": {"reference": f"Patient/{patient_id}"},
            "code": {
                "coding": [{"system": c.system, "code": c.code, "display": c.display} for c in entry.codes],
                "text": entry.text,
            },
        }
    )
    built: dict[str, Any] = resource.model_dump(mode="json", exclude_none=True)
    return built


class OrderTemplates:
    """Validated ServiceRequest templates for every suggestion of the catalogue."""

    def __init__(self, entries: Iterable[SuggestionEntry]) -> None:
        # Kept as JSON: parsing it gives each card its own copy several times faster than copy.deepcopy.
        self._templates = {entry.id: orjson.dumps(validated_service_request(entry, "template")) for entry in entries}

    def build(self, entry: SuggestionEntry, patient_id: str) -> dict[str, Any]:
        resource: dict[str, Any] = orjson.loads(self._templates[entry.id])
        resource["subject"] = {"reference": f"Patient/{patient_id}"}
        return resource
