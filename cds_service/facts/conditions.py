"""Conditions: a problem concept becomes a Problem; a myositis Condition also gives the disease onset.

verificationStatus entered-in-error or refuted are ignored; `current` = clinicalStatus active, recurrence or
relapse. A Condition whose codes match no concept is read by its text (`code.text`, `coding.display`) against
the value sets that have text patterns (myositis, juvenile dermatomyositis, cancer, history of cancer): the
Problem then keeps the text it was recognised from, so a card can say so. A Condition that names myositis or
cancer but is not used (refuted, entered in error, "history of", "suspected"...) becomes a DataIssue saying why.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final

from cds_service.facts.collector import Collector
from cds_service.facts.dates import add_age, parse_datetime
from cds_service.facts.fhir_json import as_number, as_str, status_code, text_of
from cds_service.facts.model import DataIssue, Problem, ResourceRef

IGNORED_VERIFICATION: Final = frozenset({"entered-in-error", "refuted"})
CURRENT_CLINICAL: Final = frozenset({"active", "recurrence", "relapse"})

# Age units as sent in Age.code (UCUM) or Age.unit (text).
_AGE_UNITS: Final = {"year": "a", "years": "a", "yr": "a", "y": "a", "month": "mo", "months": "mo",
                     "week": "wk", "weeks": "wk", "day": "d", "days": "d"}


# Concepts whose unused Conditions are worth a line on the card: they decide who gets which card.
REPORTED_WHEN_UNUSED: Final = ("myositis", "malignancy")


def read_condition(facts: Collector, cond: Mapping[str, Any]) -> None:
    code = cond.get("code")
    ref = ResourceRef("Condition", as_str(cond.get("id")))
    concepts = facts.of_kind(code, "problem")
    recognised = ""
    if not concepts:
        concepts, recognised = facts.problems_from_text(code)
    verification = status_code(cond.get("verificationStatus"))
    if verification in IGNORED_VERIFICATION:
        for concept in concepts:
            if concept in REPORTED_WHEN_UNUSED:
                facts.issues.append(DataIssue(concept, ref, f"verification status {verification}: not used"))
        return
    if not concepts:
        for concept, text in facts.problem_texts_excluded(code, REPORTED_WHEN_UNUSED):
            facts.issues.append(DataIssue(
                concept, ref, f"the text '{text[:60]}' does not state a current diagnosis: not used"
            ))
        return
    clinical = status_code(cond.get("clinicalStatus"))
    onset, source = condition_onset(cond, facts.birth_date)
    recorded = parse_datetime(cond.get("recordedDate"))
    display = text_of(cond.get("code"))
    for concept in concepts:
        facts.problems.append(Problem(
            concept=concept, current=clinical in CURRENT_CLINICAL, clinical_status=clinical, onset=onset,
            recorded=recorded, ref=ref, display=display, recognised_from_text=recognised,
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
