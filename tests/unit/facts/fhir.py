"""Small R4 fixture factories for the facts tests; every resource they return is validated with fhir.resources R4B.

The request path never validates (it reads plain dicts); the tests do, so a fixture that is not valid R4 fails
here instead of testing a shape no server would send. Deliberately malformed inputs are written as raw dicts.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from cds_service.facts.build import build_facts
from cds_service.facts.model import PatientFacts
from cds_service.facts.valuesets import CPT, ICD10CM, LOINC, SNOMED, ValueSets, load_valuesets
from tests.support.builders import NOW

VALUESETS_DIR = Path(__file__).resolve().parents[3] / "cards" / "valuesets"
VALUESETS = load_valuesets(VALUESETS_DIR)
UCUM = "http://unitsofmeasure.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
WHEN = "2026-11-20T08:00:00Z"
SUBJECT = {"reference": "Patient/p1"}

__all__ = ["CPT", "ICD10CM", "LOINC", "SNOMED"]


def valid(resource: dict[str, Any]) -> dict[str, Any]:
    """Validate a fixture as FHIR R4 (fhir.resources R4B) and return it unchanged."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


def patient(birth: str | None = "1970-06-01", gender: str | None = "female") -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "Patient", "id": "p1"}
    if birth is not None:
        body["birthDate"] = birth
    if gender is not None:
        body["gender"] = gender
    return valid(body)


def concept(system: str, code: str, display: str | None = None, text: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    body: dict[str, Any] = {"coding": [coding]}
    if text:
        body["text"] = text
    return body


def quantity(value: float | None, unit: str, *, ucum: bool = True, comparator: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"unit": unit}
    if value is not None:
        body["value"] = value
    if ucum:
        body["system"], body["code"] = UCUM, unit
    if comparator:
        body["comparator"] = comparator
    return body


def observation(
    code: dict[str, Any], *, id: str = "o1", status: str = "final", effective: str | None = WHEN, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "Observation", "id": id, "status": status, "code": code,
                            "subject": SUBJECT}
    if effective is not None:
        body["effectiveDateTime"] = effective
    body.update(fields)
    return valid(body)


def lab(loinc: str, value: float | None, unit: str, **fields: Any) -> dict[str, Any]:
    return observation(concept(LOINC, loinc), valueQuantity=quantity(value, unit), **fields)


def nxp2(text: str = "NXP-2 (Nuclear matrix protein-2) Ab", **fields: Any) -> dict[str, Any]:
    """An anti-NXP2 result as US panels send it: a local code and a display naming the antibody."""
    code = {"coding": [{"system": "http://lab.example.org/codes", "code": "3001781-7", "display": text}],
            "text": text}
    return observation(code, **fields)


def interpretation(code: str) -> list[dict[str, Any]]:
    return [concept(INTERPRETATION, code)]


def condition(
    code: dict[str, Any], *, id: str = "c1", clinical: str | None = "active", verification: str | None = "confirmed",
    **fields: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "Condition", "id": id, "code": code, "subject": SUBJECT}
    if clinical is not None:
        body["clinicalStatus"] = concept("http://terminology.hl7.org/CodeSystem/condition-clinical", clinical)
    if verification is not None:
        body["verificationStatus"] = concept(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status", verification
        )
    body.update(fields)
    return valid(body)


def procedure(code: dict[str, Any], *, id: str = "pr1", status: str = "completed", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "Procedure", "id": id, "status": status, "code": code,
                            "subject": SUBJECT}
    body.update(fields)
    return valid(body)


def report(code: dict[str, Any], *, id: str = "dr1", status: str = "final", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "DiagnosticReport", "id": id, "status": status, "code": code,
                            "subject": SUBJECT}
    body.update(fields)
    return valid(body)


def imaging(
    codes: list[dict[str, Any]], *, id: str = "is1", status: str = "available", **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "ImagingStudy", "id": id, "status": status, "procedureCode": codes,
                            "subject": SUBJECT}
    body.update(fields)
    return valid(body)


def facts_of(
    *resources: dict[str, Any], person: dict[str, Any] | None = None, now: datetime = NOW,
    valuesets: ValueSets = VALUESETS, unavailable: tuple[str, ...] = (),
) -> PatientFacts:
    return build_facts(person or patient(), list(resources), now, valuesets, unavailable=unavailable)
