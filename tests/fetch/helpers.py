"""Builders shared by the fetch tests: requests, bundles, access settings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cds_service.config import Settings
from cds_service.hooks.prefetch import FhirAccess, ResolvedData
from cds_service.protocol import HookRequest

TEMPLATES = {
    "patient": "Patient/{{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
}
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1950-03-04"}
TOKEN = "secret-access-token-8f3a"
ISS = "https://ehr.example.org"


def request(prefetch: Mapping[str, Any] | None, fhir_server: str | None = None, token: str | None = TOKEN,
            patient_id: str = "p1") -> HookRequest:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/123", "patientId": patient_id},
    }
    if prefetch is not None:
        body["prefetch"] = dict(prefetch)
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
        if token is not None:
            body["fhirAuthorization"] = {"access_token": token, "token_type": "Bearer", "expires_in": 300,
                                         "scope": "patient/*.read", "subject": "nxp2-cds"}
    return HookRequest.model_validate(body)


def observation(number: int, patient: str = "p1") -> dict[str, Any]:
    return {"resourceType": "Observation", "id": f"o{number}", "status": "final",
            "code": {"text": "CK"}, "subject": {"reference": f"Patient/{patient}"}}


def searchset(*resources: Mapping[str, Any], next_url: str | None = None,
              mode: str | None = "match") -> dict[str, Any]:
    entries = [{"resource": dict(r), **({"search": {"mode": mode}} if mode else {})} for r in resources]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def access(mode: str = "production", budget: float = 0.5, servers: Mapping[str, Any] | None = None,
           networks: str = "127.0.0.1/32", **env: str) -> FhirAccess:
    values = {"CDS_MODE": mode, "CDS_FHIR_TIMEOUT_S": str(budget), "CDS_FHIR_ALLOWED_NETWORKS": networks,
              "CDS_FHIR_ALLOWED_SERVERS": json.dumps(servers or {})} | env
    return FhirAccess.from_settings(Settings.from_env(values))


def kinds(data: ResolvedData) -> dict[str, int]:
    counts: dict[str, int] = {}
    for resource in data.resources:
        counts[str(resource["resourceType"])] = counts.get(str(resource["resourceType"]), 0) + 1
    return counts
