"""The `gaps` sentences of a card: data relevant to it that was missing, stale, unreadable or never received.

Every result a card could not use is named with its resource, so a clinician can find it in the record.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from cds_service.facts.model import PatientFacts
from cds_service.rules.card_data import lab_value
from cds_service.rules.criteria import is_within, undated_tests
from cds_service.rules.registry import RuleContext
from cds_service.rules.words import day

# Prefetch keys as a clinician would name the data behind them.
PREFETCH_NAMES = {
    "observations": "observations (laboratory results, vital signs)",
    "conditions": "problem list (Conditions)",
    "procedures": "procedures",
    "diagnosticReports": "diagnostic reports",
    "imagingStudies": "imaging studies",
}


def unavailable_gaps(facts: PatientFacts, keys: Iterable[str]) -> list[str]:
    """Sentences for prefetch data the EHR could not provide and that this card would have read."""
    return [
        f"The {PREFETCH_NAMES.get(key, key)} could not be obtained from the EHR: this card may be incomplete."
        for key in dict.fromkeys(keys)
        if key in facts.unavailable
    ]


def onset_gaps(facts: PatientFacts) -> tuple[str, ...]:
    """Say so when the onset date behind an age or a window was inferred rather than recorded."""
    if facts.onset is None or not facts.onset.approximate:
        return ()
    return (f"The myositis onset date is approximate (taken from the {facts.onset.source}), "
            "so the age at onset and the time since onset are approximate too.",)


def data_gaps(
    facts: PatientFacts,
    ctx: RuleContext,
    *,
    labs: Iterable[str] = (),
    tests: Iterable[str] = (),
    problems: Iterable[str] = (),
    prefetch_keys: Iterable[str] = (),
) -> tuple[str, ...]:
    """Every gap sentence of the concepts a card reads, at any date: unusable results, undated tests and
    refusals, data the facts layer could not read, and prefetch keys that never arrived."""
    labs, tests, problems = tuple(labs), tuple(tests), tuple(problems)
    gaps: list[str] = []
    for antibody in facts.antibodies:
        if not antibody.usable:
            gaps.append(f"{antibody.ref.reference} (anti-NXP2) was not used: {antibody.problem or 'unreadable'}.")
    for concept in labs:
        for lab in facts.unusable(concept):
            gaps.append(f"{lab.ref.reference} ({ctx.title(concept)}) was not used: {lab.problem or 'unreadable'}.")
    for concept in tests:
        label = ctx.title(concept)
        for test in undated_tests(facts, (concept,)):
            gaps.append(f"{test.ref.reference} ({label}) has no date and was not counted.")
        for declined in facts.tests_declined:
            if declined.concept == concept and declined.recorded is None:
                gaps.append(f"{declined.ref.reference} ({label} not done) has no date and was not counted.")
    for concept in (*labs, *tests, *problems):
        for issue in facts.issues_for(concept):
            where = f"{issue.ref.reference} " if issue.ref is not None else ""
            gaps.append(f"{where}({ctx.title(concept)}) could not be used: {issue.problem}.")
    gaps += unavailable_gaps(facts, prefetch_keys)
    return tuple(dict.fromkeys(gaps))


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
    """Sentences for results in the window that could not be used, and for data issues of the concept."""
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
