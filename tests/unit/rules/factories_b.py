"""Small factories for `PatientFacts` in the card 6-10 rule tests, and the rule context from the real catalogue.

Dates are given as ages relative to the fixed NOW of the suite, so each test reads like its clinical story.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cds_service.cards.catalogue import Catalogue, load_catalogue
from cds_service.facts.model import (
    AntibodyResult,
    DataIssue,
    LabResult,
    Onset,
    PatientFacts,
    Positivity,
    Problem,
    ResourceRef,
    TestDeclined,
    TestDone,
)
from cds_service.rules import REGISTRY
from cds_service.rules.registry import Finding, Param, RuleContext
from tests.conftest import NOW

CATALOGUE_DIR = Path(__file__).resolve().parents[3] / "cards"
CHILD_BIRTH = date(2018, 5, 10)  # 8.5 years old at NOW
ADULT_BIRTH = date(1975, 2, 1)
_ids = itertools.count(1)

# Canonical units of the concepts these tests use (GUIDE.md concept names).
UNITS = {
    "ferritin": "ng/mL", "platelets": "10*3/uL", "ast": "U/L", "triglycerides": "mg/dL", "fibrinogen": "mg/dL",
    "body-temperature": "Cel", "troponin-i": "ng/L", "troponin-t": "ng/L", "ck-mb": "ng/mL",
    "cd4-cd8-ratio": "{ratio}", "cmas": "{score}", "proximal-strength": "{score}",
}


@cache
def catalogue() -> Catalogue:
    return load_catalogue(CATALOGUE_DIR, REGISTRY)


def context(rule_id: str, now: datetime = NOW) -> RuleContext:
    """The context the service would give this rule: its real catalogue params and switches."""
    entry = catalogue().rules[rule_id]
    params = {name: Param(value=p.value, unit=p.unit) for name, p in entry.params.items()}
    return RuleContext(now=now, params=MappingProxyType(params), switches=MappingProxyType(dict(entry.switches)))


def param(rule_id: str, name: str) -> float:
    return catalogue().rules[rule_id].params[name].value


def run(rule_id: str, facts: PatientFacts, now: datetime = NOW) -> Finding | None:
    return REGISTRY[rule_id].function(facts, context(rule_id, now))


def ago(*, days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


def ref(resource_type: str = "Observation") -> ResourceRef:
    return ResourceRef(resource_type, f"{resource_type.lower()}-{next(_ids)}")


def antibody(
    positivity: Positivity = Positivity.POSITIVE, *, days: float = 200, usable: bool = True,
    intensity: float | None = None, problem: str | None = None,
) -> AntibodyResult:
    return AntibodyResult(
        positivity=positivity, effective=ago(days=days), status="final" if usable else "preliminary", ref=ref(),
        usable=usable, intensity=intensity, method="line blot" if intensity is not None else "", problem=problem,
    )


def lab(
    concept: str, value: float | None, *, days: float = 0, hours: float = 0, usable: bool = True,
    problem: str | None = None, high: float | None = None, low: float | None = None, unit: str | None = None,
    undated: bool = False,
) -> LabResult:
    return LabResult(
        concept=concept, value=value, unit=unit or UNITS[concept],
        effective=None if undated else ago(days=days, hours=hours),
        status="final" if usable else "preliminary", ref=ref(), usable=usable, problem=problem,
        reference_low=low, reference_high=high,
    )


def problem(
    concept: str, *, days: float | None = 1, status: str = "active", recorded_days: float | None = None,
    display: str = "",
) -> Problem:
    return Problem(
        concept=concept, current=status in ("active", "recurrence", "relapse"), clinical_status=status,
        onset=None if days is None else ago(days=days),
        recorded=None if recorded_days is None else ago(days=recorded_days),
        ref=ref("Condition"), display=display,
    )


def done(concept: str, *, days: float | None) -> TestDone:
    return TestDone(concept=concept, performed=None if days is None else ago(days=days), ref=ref("Procedure"))


def declined(concept: str, *, days: float = 10, reason: str = "patient declined") -> TestDeclined:
    return TestDeclined(concept=concept, recorded=ago(days=days), reason=reason, ref=ref("Procedure"))


def issue(concept: str, text: str) -> DataIssue:
    return DataIssue(concept=concept, ref=ref(), problem=text)


def jdm_child(
    *extra: Any, onset_days: float = 180, birth: date = CHILD_BIRTH,
    antibodies: tuple[AntibodyResult, ...] | None = None, myositis: Problem | bool | None = True,
    unavailable: tuple[str, ...] = (),
) -> PatientFacts:
    """An anti-NXP2-positive child with JDM that began `onset_days` ago, plus the labs, problems and tests given."""
    myositis_problems: tuple[Problem, ...] = ()
    if myositis is True:
        myositis_problems = (problem("myositis", days=onset_days, display="Juvenile dermatomyositis"),)
    elif isinstance(myositis, Problem):
        myositis_problems = (myositis,)
    results = antibodies if antibodies is not None else (antibody(days=onset_days - 10),)
    # Without a diagnosis the facts layer falls back to the first anti-NXP2 result for onset (approximate).
    onset = (
        Onset(ago(days=onset_days), "onsetDateTime", approximate=False, ref=myositis_problems[0].ref)
        if myositis_problems else
        Onset(ago(days=onset_days), "first anti-NXP2 result", approximate=True, ref=results[0].ref)
        if results else None
    )
    facts = PatientFacts(
        patient_id="p1", birth_date=birth, sex="female", antibodies=results, problems=myositis_problems,
        onset=onset, unavailable=unavailable,
    )
    return add(facts, *extra)


def adult_onset(*extra: Any, onset_days: float = 180) -> PatientFacts:
    return jdm_child(*extra, onset_days=onset_days, birth=ADULT_BIRTH)


def add(facts: PatientFacts, *extra: Any) -> PatientFacts:
    """Return the facts with labs, problems, tests, declined tests and issues added."""
    return replace(
        facts,
        labs=facts.labs + tuple(x for x in extra if isinstance(x, LabResult)),
        problems=facts.problems + tuple(x for x in extra if isinstance(x, Problem)),
        tests_done=facts.tests_done + tuple(x for x in extra if isinstance(x, TestDone)),
        tests_declined=facts.tests_declined + tuple(x for x in extra if isinstance(x, TestDeclined)),
        issues=facts.issues + tuple(x for x in extra if isinstance(x, DataIssue)),
    )
