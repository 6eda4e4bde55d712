"""The demo EHR's chart summary: what the facts layer reads from one patient's FHIR data, as plain JSON.

Used by the development-only /demo page (api/demo.py) so the chart shows the same antibody result,
problems, CK, ferritin and BMI that the rules see. No Flask; never logs patient values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from cds_service.facts.build import build_facts
from cds_service.facts.model import AntibodyResult, LabResult, PatientFacts, Positivity
from cds_service.hooks.evaluate import Services

# The lab concepts the chart shows, with a trend plot (terminology names, canonical units).
CHART_LABS = ("ck", "ferritin")


def _day(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _lab(lab: LabResult) -> dict[str, Any]:
    return {"value": lab.value, "unit": lab.unit, "date": _day(lab.effective), "usable": lab.usable,
            "display": lab.display_value or None, "ref": lab.ref.reference, "problem": lab.problem}


def _antibody(result: AntibodyResult) -> dict[str, Any]:
    return {"positivity": result.positivity.value, "date": _day(result.effective), "method": result.method or None,
            "ref": result.ref.reference, "usable": result.usable}


def summary_of(facts: PatientFacts) -> dict[str, Any]:
    """Return the chart summary of one patient's facts (dates as ISO 8601 text)."""
    first_positive = facts.first_positive_antibody()
    labs: dict[str, Any] = {}
    for concept in CHART_LABS:
        results = facts.results(concept)
        usable = [lab for lab in results if lab.usable and lab.value is not None and lab.effective is not None]
        labs[concept] = {
            "latest": _lab(results[0]) if results else None,
            "series": [{"date": _day(lab.effective), "value": lab.value} for lab in reversed(usable)],
            "unit": usable[0].unit if usable else None,
        }
    growth = max(facts.growth, key=lambda g: g.measured, default=None)
    status = facts.antibody_status()
    return {
        "patientId": facts.patient_id,
        "antibody": {
            "status": status.value if isinstance(status, Positivity) else None,
            "firstPositive": _antibody(first_positive) if first_positive else None,
            "results": [_antibody(a) for a in sorted(facts.antibodies, key=lambda a: _day(a.effective) or "")],
        },
        "onset": None if facts.onset is None else {
            "date": _day(facts.onset.when), "approximate": facts.onset.approximate, "source": facts.onset.source,
        },
        "problems": [
            {"concept": p.concept, "display": p.display or p.concept, "current": p.current,
             "clinicalStatus": p.clinical_status, "onset": _day(p.onset), "recorded": _day(p.recorded),
             "ref": p.ref.reference}
            for p in sorted(facts.problems, key=lambda p: _day(p.noted) or "")
        ],
        "labs": labs,
        "growth": None if growth is None else {
            "bmi": growth.bmi, "date": _day(growth.measured), "z": growth.z_score,
            "reference": growth.reference or None, "problem": growth.problem,
        },
        "issues": [{"concept": i.concept, "problem": i.problem} for i in facts.issues],
    }


def chart_summary(
    patient: Mapping[str, Any], resources: Sequence[Mapping[str, Any]], services: Services
) -> dict[str, Any]:
    """Build the facts of one patient from its FHIR resources and return the chart summary."""
    return summary_of(build_facts(patient, resources, services.clock.now(), services.valuesets))
