"""Build `PatientFacts` from plain FHIR dicts: the only module that reads FHIR shapes.

Minimal first version: reads the Patient. The facts issue (#4) adds Observations, Conditions, tests,
units, positivity and growth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from cds_service.facts.model import PatientFacts


def _birth_date(patient: Mapping[str, Any]) -> date | None:
    raw = patient.get("birthDate")
    if not isinstance(raw, str) or len(raw) != 10:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def build_facts(
    patient: Mapping[str, Any], resources: Sequence[Mapping[str, Any]], now: datetime
) -> PatientFacts:
    """Return the facts of one patient from its Patient resource and the other resources received."""
    gender = patient.get("gender")
    return PatientFacts(
        patient_id=str(patient.get("id", "")),
        birth_date=_birth_date(patient),
        sex=gender if isinstance(gender, str) else None,
    )
