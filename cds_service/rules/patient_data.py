"""Data lines and gap sentences for cards 6-10: how a result, problem or test appears on a card.

Imports `facts.model`, `rules.registry` and the standard library only. Every value shown carries its unit,
its date and the resource it came from; every result a card could not use is named in a gap sentence.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from cds_service.facts.model import LabResult, PatientFacts, Problem, TestDeclined, TestDone
from cds_service.rules.common import is_within
from cds_service.rules.registry import Datum, RuleContext

# Prefetch keys as a clinician would name the data behind them.
PREFETCH_NAMES = {
    "observations": "observations (laboratory results, vital signs)",
    "conditions": "problem list (Conditions)",
    "procedures": "procedures",
    "diagnosticReports": "diagnostic reports",
    "imagingStudies": "imaging studies",
}
# UCUM codes whose usual clinical spelling differs; everything else reads well as it is.
_UNIT_WORDS = {"Cel": "°C", "10*3/uL": "x10^3/uL", "10*9/L": "x10^9/L"}
_DURATION_WORDS = {"h": "h", "d": "days", "wk": "weeks", "mo": "months", "a": "years"}


def number(value: float) -> str:
    """Return a value without a spurious decimal part: 685.0 -> "685", 1.35 -> "1.35"."""
    return f"{value:g}"


def label_case(text: str) -> str:
    """Capitalise the first letter only, so "GI perforation" stays as written."""
    return text[:1].upper() + text[1:]


def day(when: date | datetime | None) -> str:
    if when is None:
        return "date unknown"
    return (when.date() if isinstance(when, datetime) else when).isoformat()


def unit_text(unit: str) -> str:
    """Return a UCUM unit as clinicians write it; a pure annotation ("{score}", "{ratio}") shows nothing."""
    if unit.startswith("{") and unit.endswith("}"):
        return ""
    return _UNIT_WORDS.get(unit, unit)


def lab_value(lab: LabResult) -> str:
    """Return the canonical value with its unit, and the value as reported when the lab sent another unit."""
    if lab.value is None:
        return lab.display_value or "no value"
    shown = f"{number(lab.value)} {unit_text(lab.unit)}".strip()
    if lab.display_value and lab.display_value.replace(" ", "") != shown.replace(" ", ""):
        shown += f" (reported as {lab.display_value})"
    return shown


def lab_datum(lab: LabResult, label: str, qualifier: str = "") -> Datum:
    """A data line for one result, with its reference range when the lab sent one."""
    value = lab_value(lab)
    low, high = lab.reference_low, lab.reference_high
    if low is not None and high is not None:
        value += f", reference {number(low)}-{number(high)}"
    elif high is not None:
        value += f", reference up to {number(high)}"
    elif low is not None:
        value += f", reference from {number(low)}"
    if qualifier:
        value += f", {qualifier}"
    return Datum(label, value, lab.effective, lab.ref)


def problem_datum(problem: Problem, label: str) -> Datum:
    """A data line for a problem: its own wording when the record has one, and its clinical status."""
    value = f"{problem.display} ({problem.clinical_status})" if problem.display else problem.clinical_status
    return Datum(label, value, problem.noted, problem.ref)


def completed_test_datum(test: TestDone, label: str) -> Datum:
    return Datum(label, "done", test.performed, test.ref)


def declined_datum(declined: TestDeclined, label: str) -> Datum:
    return Datum(label, f"not done: {declined.reason or 'no reason given'}", declined.recorded, declined.ref)




def missing_or_stale_gap(
    facts: PatientFacts, concept: str, label: str, now: datetime, window: timedelta, window_text: str
) -> str | None:
    """Say that a result was not available in the window, and when the last usable one was taken."""
    if facts.latest(concept, now, window) is not None:
        return None
    older = [lab for lab in facts.results(concept) if lab.usable and lab.effective is not None and lab.effective <= now]
    if older:
        last = older[0]
        return f"{label}: last usable result {lab_value(last)} on {day(last.effective)} ({last.ref.reference}), " \
               f"outside the {window_text} window: not used."
    return f"{label}: no usable result in the {window_text} window."


def unusable_gaps(
    facts: PatientFacts, concept: str, label: str, now: datetime, window: timedelta
) -> list[str]:
    """Sentences for results of a concept that could have counted but could not be used, and data issues."""
    gaps = [
        f"{label} on {day(lab.effective)} ({lab.ref.reference}) not used: {lab.problem or 'not usable'}."
        for lab in facts.unusable(concept)
        if lab.effective is None or is_within(lab.effective, now, window)
    ]
    return gaps + issue_gaps(facts, concept, label)


def issue_gaps(facts: PatientFacts, concept: str, label: str) -> list[str]:
    """Sentences for data of a concept that the facts layer received and could not read."""
    return [
        f"{label}: {issue.problem}" + (f" ({issue.ref.reference})." if issue.ref else ".")
        for issue in facts.issues_for(concept)
    ]


def unavailable_gaps(facts: PatientFacts, keys: Iterable[str]) -> list[str]:
    """Sentences for prefetch data the EHR could not provide and that this card would have read."""
    wanted = set(keys)
    return [
        f"The {PREFETCH_NAMES.get(key, key)} could not be obtained from the EHR: this card may be incomplete."
        for key in facts.unavailable
        if key in wanted
    ]


def window_text(ctx: RuleContext, name: str) -> str:
    """Return a window param as the catalogue states it: "72 h", "14 days", "24 months"."""
    param = ctx.params[name]
    return f"{number(param.value)} {_DURATION_WORDS.get(param.unit, param.unit)}"
