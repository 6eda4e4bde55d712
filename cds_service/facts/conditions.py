"""Conditions: a problem concept becomes a Problem; a myositis Condition also gives the disease onset.

verificationStatus entered-in-error or refuted are ignored; `current` = clinicalStatus active, recurrence or
relapse.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final

from cds_service.facts.collector import Collector
from cds_service.facts.dates import add_age, parse_datetime
from cds_service.facts.fhir_json import as_number, as_str, status_code, text_of
from cds_service.facts.model import Problem, ResourceRef

IGNORED_VERIFICATION: Final = frozenset({"entered-in-error", "refuted"})
CURRENT_CLINICAL: Final = frozenset({"active", "recurrence", "relapse"})

# Age units as sent in Age.code (UCUM) or Age.unit (text).
_AGE_UNITS: Final = {"year": "a", "years": "a", "yr": "a", "y": "a", "month": "mo", "months": "mo",
                     "week": "wk", "weeks": "wk", "day": "d", "days": "d"}


def read_condition(facts: Collector, cond: Mapping[str, Any]) -> None:
    if status_code(cond.get("verificationStatus")) in IGNORED_VERIFICATION:
        return
    concepts = facts.of_kind(cond.get("code"), "problem")
    if not concepts:
        return
    ref = ResourceRef("Condition", as_str(cond.get("id")))
    clinical = status_code(cond.get("clinicalStatus"))
    onset, source = condition_onset(cond, facts.birth_date)
    recorded = parse_datetime(cond.get("recordedDate"))
    display = text_of(cond.get("code"))
    for concept in concepts:
        facts.problems.append(Problem(
            concept=concept, current=clinical in CURRENT_CLINICAL, clinical_status=clinical, onset=onset,
            recorded=recorded, ref=ref, display=display,
        ))
    if "myositis" in concepts:
        facts.myositis.append((onset, source, recorded, ref))


def condition_onset(cond: Mapping[str, Any], birth_date: date | None) -> tuple[datetime | None, str]:
    """Return onset and its source from onsetDateTime, onsetAge (with the birth date) or onsetPeriod.start."""
    when = parse_datetime(cond.get("onsetDateTime"))
    if when is not None:
        return when, "onsetDateTime"
    age = cond.get("onsetAge")
    if isinstance(age, dict) and birth_date is not None:
        value = as_number(age.get("value"))
        unit = as_str(age.get("code")) or as_str(age.get("unit"))
        when = add_age(birth_date, value, _AGE_UNITS.get(unit, unit)) if value is not None else None
        if when is not None:
            return when, "onsetAge"
    period = cond.get("onsetPeriod")
    when = parse_datetime(period.get("start")) if isinstance(period, dict) else None
    if when is not None:
        return when, "onsetPeriod"
    return None, ""
