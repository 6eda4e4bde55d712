"""The data lines a card shows (`Datum`): how an antibody, onset, problem, result or test appears on a card.

Every value shown carries its date and the resource it came from. A line names its concept with the value
set's title (`ctx.title(concept)`) unless the card words it otherwise.
"""

from __future__ import annotations

from datetime import datetime

from cds_service.facts.model import AntibodyResult, LabResult, PatientFacts, Problem, TestDeclined, TestDone
from cds_service.rules.registry import Datum, RuleContext
from cds_service.rules.words import ago_text, in_sentence, number, unit_text

# The one caveat key for "a later negative result is shown, the earlier positive one still counts".
LATER_NEGATIVE_NOTE = "later-negative-antibody"


# --- the population: antibody and onset ---------------------------------------------------------------


def antibody_datum(result: AntibodyResult, ctx: RuleContext) -> Datum:
    value = result.positivity.value
    if result.intensity is not None:
        value += f", line-blot intensity {number(result.intensity)}"
    if result.method:
        value += f" ({result.method})"
    return Datum(ctx.title("anti-nxp2"), value, result.effective, result.ref)


def antibody_data(facts: PatientFacts, ctx: RuleContext) -> tuple[Datum, ...]:
    """The positive result a card rests on, and a later negative one when there is one."""
    shown = [facts.first_positive_antibody(), facts.later_negative_antibody()]
    return tuple(antibody_datum(result, ctx) for result in shown if result is not None)


def onset_datum(facts: PatientFacts) -> Datum | None:
    """A data line for myositis onset and age at onset, marked approximate when it was inferred."""
    onset = facts.onset
    age = facts.onset_age()
    if onset is None or age is None:
        return None
    approximate = " (approximate)" if onset.approximate else ""
    return Datum(
        "Myositis onset", f"age {age:.1f} years{approximate}, from {onset.source}", onset.when, onset.ref
    )


def population_data(facts: PatientFacts, ctx: RuleContext) -> tuple[Datum, ...]:
    """The data lines that put the patient in the population: antibody results and myositis onset."""
    onset = onset_datum(facts)
    return antibody_data(facts, ctx) + (() if onset is None else (onset,))


def myositis_datum(facts: PatientFacts, ctx: RuleContext) -> Datum | None:
    """The myositis diagnosis the card rests on (the earliest noted one)."""
    problems = sorted(facts.problems_of("myositis"), key=lambda p: (p.noted is None, p.noted or datetime.max))
    return problem_datum(problems[0], ctx.title("myositis")) if problems else None


def later_negative_notes(facts: PatientFacts) -> tuple[str, ...]:
    return (LATER_NEGATIVE_NOTE,) if facts.later_negative_antibody() is not None else ()


# --- problems -------------------------------------------------------------------------------------------


def problem_datum(problem: Problem, label: str) -> Datum:
    """A problem in its own wording when the record has one (else the label), and its clinical status."""
    return Datum(label, f"{problem.display or label} ({problem.clinical_status})", problem.noted, problem.ref)


# --- results --------------------------------------------------------------------------------------------


def lab_value(lab: LabResult) -> str:
    """Return the canonical value with its unit, and the value as reported when the lab sent another unit."""
    if lab.value is None:
        return lab.display_value or "no value"
    shown = f"{number(lab.value)} {unit_text(lab.unit)}".strip()
    if lab.display_value and lab.display_value.replace(" ", "") != shown.replace(" ", ""):
        shown += f" (reported as {lab.display_value})"
    return shown


def lab_datum(lab: LabResult, label: str, qualifier: str = "") -> Datum:
    """A data line for one result in its canonical unit, with its reference range when the lab sent one."""
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


def lab_datum_as_reported(lab: LabResult, label: str) -> Datum:
    """A data line for one result exactly as the lab wrote it (the function scores of the bulbar card)."""
    # UCUM annotations such as {score} mean "no unit": show the bare number when nothing was reported.
    unit = "" if lab.unit.startswith("{") else lab.unit
    value = lab.display_value or f"{'no value' if lab.value is None else number(lab.value)} {unit}".strip()
    return Datum(label, value, lab.effective, lab.ref)


# --- tests ----------------------------------------------------------------------------------------------


def last_test_datum(test: TestDone, ctx: RuleContext, label: str | None = None) -> Datum:
    """"Last CT chest: done, 5 months ago": a test and how long ago it was done."""
    name = label or f"Last {in_sentence(ctx.title(test.concept))}"
    return Datum(name, f"done, {ago_text(test.performed, ctx.now)}", test.performed, test.ref)


def test_done_datum(test: TestDone, label: str) -> Datum:
    """"ECG: done" with the date it was done (the card states the date, not how long ago)."""
    return Datum(label, "done", test.performed, test.ref)


def declined_datum(declined: TestDeclined, label: str) -> Datum:
    return Datum(label, f"not done: {declined.reason or 'no reason given'}", declined.recorded, declined.ref)


def none_on_record(label: str, detail: str = "none on record") -> Datum:
    """A data line saying a test is absent (the absence is what fired the card)."""
    return Datum(label, detail)
