"""A real FHIR R4 server (sekmet) on loopback for the whole session, loaded with two patients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.fhir_server import FhirServer

SERVER_TOKEN = "integration-token-5d1c"
PATIENT_ID = "nxp2-a"
OTHER_ID = "nxp2-b"
N_OBSERVATIONS = 25


def _put(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{resource['resourceType']}-{resource['id']}", "resource": resource,
            "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}}


def _observation(patient: str, number: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": f"{patient}-ck-{number}", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2157-6",
                             "display": "Creatine kinase [Enzymatic activity/volume] in Serum or Plasma"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": f"2026-{1 + number % 12:02d}-{1 + number % 28:02d}T08:00:00Z",
        "valueQuantity": {"value": 200 + number, "unit": "U/L", "system": "http://unitsofmeasure.org",
                          "code": "U/L"},
    }


def patient_bundle() -> dict[str, Any]:
    """A transaction Bundle: patient nxp2-a with every resource type the service reads, and nxp2-b."""
    a, b = PATIENT_ID, OTHER_ID
    subject = {"reference": f"Patient/{a}"}
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": a, "gender": "female", "birthDate": "1950-03-04",
         "name": [{"family": "Test", "given": ["Ada"]}]},
        {"resourceType": "Patient", "id": b, "gender": "male", "birthDate": "2012-06-01"},
        *(_observation(a, n) for n in range(N_OBSERVATIONS)),
        *(_observation(b, n) for n in range(2)),
        *({"resourceType": "Condition", "id": f"{a}-cond-{n}", "subject": subject, "code": {"text": text}}
          for n, text in enumerate(["Dermatomyositis", "Dysphagia", "Interstitial lung disease"])),
        {"resourceType": "Procedure", "id": f"{a}-pft", "status": "completed", "subject": subject,
         "code": {"text": "Pulmonary function test"}},
        {"resourceType": "DiagnosticReport", "id": f"{a}-ct", "status": "final", "subject": subject,
         "code": {"text": "CT chest"}},
        {"resourceType": "ImagingStudy", "id": f"{a}-img", "status": "available", "subject": subject},
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": [_put(r) for r in resources]}


@pytest.fixture(scope="session")
def fhir_server() -> Iterator[FhirServer]:
    with FhirServer(token=SERVER_TOKEN) as server:
        server.load(patient_bundle())
        yield server
