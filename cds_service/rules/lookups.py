"""Look-ups on `PatientFacts` shared by the screening and risk cards, and the data lines they show.

Owns: the myositis-diagnosis criterion, tests done or declined in a window, problems and results as
`Datum` lines, catalogue windows as words, and the `gaps` sentences about data that could not be used.
Everything here is a pure function of facts plus explicit times; thresholds stay in the catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from cds_service.facts.model import LabResult, PatientFacts, Problem, TestDeclined, TestDone
from cds_service.rules.common import is_within
from cds_service.rules.registry import DURATION_UNITS, Datum, RuleContext

# Plain clinical names of the value-set concepts these cards mention.
LABELS = {
    "ct-chest": "CT chest (incl. HRCT)",
    "ct-abdomen-pelvis": "CT abdomen and pelvis",
    "ct-neck": "CT neck",
    "pet-ct": "FDG PET-CT",
    "pft": "Pulmonary function tests",
    "swallow-study": "Swallow assessment",
    "myositis": "Myositis",
    "ild": "Interstitial lung disease",
    "malignancy": "Malignancy",
    "dysphagia": "Dysphagia",
    "dysphonia": "Dysphonia or hoarseness",
    "aspiration": "Aspiration",
    "skin-ulcer": "Skin ulcer",
    "oedema": "Oedema",
    "cmas": "CMAS",
    "mmt8": "MMT8",
    "bmi": "BMI",
    "anti-nxp2": "Anti-NXP2 antibody",
}

# Prefetch keys whose absence can hide a test that was done, with their names in plain words.
TEST_SOURCES = ("procedures", "diagnosticReports", "imagingStudies")
_SOURCE_WORDS = {"procedures": "procedures", "diagnosticReports": "diagnostic reports",
                 "imagingStudies": "imaging studies", "observations": "observations", "conditions": "conditions"}

_UNIT_WORDS = {"h": "hours", "d": "days", "wk": "weeks", "mo": "months", "a": "years"}
_MONTH = DURATION_UNITS["mo"]


def label(concept: str) -> str:
    return LABELS.get(concept, concept)


def _in_sentence(text: str) -> str:
    """Lower-case a capitalised word for mid-sentence use, leaving acronyms (CT, FDG) alone."""
    return text[0].lower() + text[1:] if text[1:2].islower() else text


# --- population ---------------------------------------------------------------------------------




def myositis_datum(facts: PatientFacts) -> Datum | None:
    """The myositis diagnosis the card rests on (the earliest noted one)."""
    problems = sorted(facts.problems_of("myositis"), key=lambda p: (p.noted is None, p.noted or datetime.max))
    return problem_datum(problems[0]) if problems else None


# --- time ---------------------------------------------------------------------------------------


def months(delta: timedelta) -> float:
    """Return a duration in months of 365/12 days (the registry's month)."""
    return delta / _MONTH


def months_text(delta: timedelta) -> str:
    """Return a duration as whole months, or weeks/days when shorter than a month."""
    if delta >= _MONTH:
        return _plural(int(months(delta)), "month")
    if delta >= timedelta(weeks=1):
        return _plural(delta.days // 7, "week")
    return _plural(max(delta.days, 0), "day")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def window_text(ctx: RuleContext, name: str) -> str:
    """Return a catalogue window in words, for example '12 months'."""
    param = ctx.params[name]
    return f"{param.value:g} {_UNIT_WORDS.get(param.unit, param.unit)}"




# --- tests ----------------------------------------------------------------------------------------


def tests_between(facts: PatientFacts, concepts: Iterable[str], since: datetime, now: datetime) -> tuple[TestDone, ...]:
    """Dated tests of the concepts performed in [since, now], newest first."""
    wanted = set(concepts)
    found = [
        t for t in facts.tests_done
        if t.concept in wanted and t.performed is not None and since <= t.performed <= now
    ]
    return tuple(sorted(found, key=lambda t: t.performed or now, reverse=True))


def tests_within(
    facts: PatientFacts, concepts: Iterable[str], now: datetime, window: timedelta
) -> tuple[TestDone, ...]:
    """Dated tests of the concepts performed within `window` before `now`, newest first."""
    return tests_between(facts, concepts, now - window, now)


def declined_within(
    facts: PatientFacts, concepts: Iterable[str], now: datetime, window: timedelta
) -> TestDeclined | None:
    """The newest not-done record of the concepts (with its reason) within `window` before `now`."""
    wanted = set(concepts)
    found = [d for d in facts.tests_declined if d.concept in wanted and is_within(d.recorded, now, window)]
    return max(found, key=lambda d: d.recorded or now, default=None)


def undated_tests(facts: PatientFacts, concepts: Iterable[str]) -> tuple[TestDone, ...]:
    wanted = set(concepts)
    return tuple(t for t in facts.tests_done if t.concept in wanted and t.performed is None)


# --- data lines -------------------------------------------------------------------------------------


def problem_datum(problem: Problem, name: str | None = None) -> Datum:
    shown = problem.display or label(problem.concept)
    return Datum(name or label(problem.concept), f"{shown} ({problem.clinical_status})", problem.noted, problem.ref)


def test_datum(test: TestDone, now: datetime, name: str | None = None) -> Datum:
    ago = "date unknown" if test.performed is None else f"{months_text(now - test.performed)} ago"
    return Datum(name or f"Last {_in_sentence(label(test.concept))}", f"done, {ago}", test.performed, test.ref)


def declined_datum(declined: TestDeclined) -> Datum:
    return Datum(f"{label(declined.concept)} not done", declined.reason or "reason not given",
                 declined.recorded, declined.ref)


def lab_datum(lab: LabResult, name: str | None = None) -> Datum:
    # UCUM annotations such as {score} mean "no unit": show the bare number.
    unit = "" if lab.unit.startswith("{") else lab.unit
    number = "no value" if lab.value is None else f"{lab.value:g}"
    value = lab.display_value or f"{number} {unit}".strip()
    return Datum(name or label(lab.concept), value, lab.effective, lab.ref)


def none_on_record(concept: str, detail: str = "none on record") -> Datum:
    """A data line saying a test is absent (the absence is what fired the card)."""
    return Datum(label(concept), detail)


# --- gaps ---------------------------------------------------------------------------------------


def onset_gaps(facts: PatientFacts) -> tuple[str, ...]:
    """Say so when the onset date behind an age or a window was inferred rather than recorded."""
    if facts.onset is None or not facts.onset.approximate:
        return ()
    return (f"The myositis onset date is approximate (taken from the {facts.onset.source}), "
            "so the age at onset and the time since onset are approximate too.",)


def data_gaps(
    facts: PatientFacts,
    *,
    labs: Iterable[str] = (),
    tests: Iterable[str] = (),
    problems: Iterable[str] = (),
    prefetch_keys: Iterable[str] = (),
) -> tuple[str, ...]:
    """Sentences about the data relevant to a card that we received and could not use, or never received."""
    gaps: list[str] = []
    for antibody in facts.antibodies:
        if not antibody.usable:
            gaps.append(f"{antibody.ref.reference} (anti-NXP2) was not used: {antibody.problem or 'unreadable'}.")
    for concept in labs:
        for lab in facts.unusable(concept):
            gaps.append(f"{lab.ref.reference} ({label(concept)}) was not used: {lab.problem or 'unreadable'}.")
    for concept in tests:
        for test in undated_tests(facts, (concept,)):
            gaps.append(f"{test.ref.reference} ({label(concept)}) has no date and was not counted.")
        for declined in facts.tests_declined:
            if declined.concept == concept and declined.recorded is None:
                gaps.append(f"{declined.ref.reference} ({label(concept)} not done) has no date and was not counted.")
    for concept in (*labs, *tests, *problems):
        for issue in facts.issues_for(concept):
            where = f"{issue.ref.reference} " if issue.ref is not None else ""
            gaps.append(f"{where}({label(concept)}) could not be used: {issue.problem}.")
    for key in prefetch_keys:
        if key in facts.unavailable:
            words = _SOURCE_WORDS.get(key, key)
            gaps.append(f"The patient's {words} could not be obtained, so something done may be missing here.")
    return tuple(dict.fromkeys(gaps))
