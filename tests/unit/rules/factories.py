"""Small factories for rule tests: build `PatientFacts` directly, and `RuleContext`s from the real catalogue.

Reusable by any card's tests. Times are relative to the fixed NOW of tests/conftest.py; months are the
registry's 365/12-day months, so `months_ago(n)` sits exactly on an `n mo` catalogue window.
Build TestDone / TestDeclined with `performed` / `not_done`: importing those classes into a test module
makes pytest try to collect them (and the suite turns that warning into an error).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from cds_service.cards.catalogue import Catalogue, load_catalogue
from cds_service.facts.model import (
    AntibodyResult,
    DataIssue,
    Growth,
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
from cds_service.rules.registry import DURATION_UNITS, Param, RuleContext
from tests.conftest import NOW

ROOT = Path(__file__).resolve().parents[3]
MONTH = DURATION_UNITS["mo"]
YEAR = timedelta(days=365.25)  # PatientFacts.age_on divides days by 365.25
_ids = itertools.count(1)


# --- time ---------------------------------------------------------------------------------------


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def months_ago(months: float) -> datetime:
    return NOW - months * MONTH


def years_ago(years: float) -> datetime:
    return NOW - years * YEAR


def born_aged(age_years: float, on: datetime = NOW) -> date:
    """A birth date that makes the patient `age_years` old (to within a day) on `on`."""
    return (on - age_years * YEAR).date()


# --- facts --------------------------------------------------------------------------------------


def ref(resource_type: str, prefix: str = "r") -> ResourceRef:
    return ResourceRef(resource_type, f"{prefix}-{next(_ids)}")


def antibody(
    positivity: Positivity = Positivity.POSITIVE, when: datetime | None = None, *, usable: bool = True,
    intensity: float | None = None, problem: str | None = None,
) -> AntibodyResult:
    return AntibodyResult(
        positivity=positivity, effective=when or months_ago(6), status="final", ref=ref("Observation", "nxp2"),
        usable=usable, intensity=intensity, method="line blot", problem=problem,
    )


def problem(
    concept: str, noted: datetime | None = None, *, current: bool = True, status: str | None = None,
    recorded: datetime | None = None, display: str = "",
) -> Problem:
    """A Condition of a concept; `noted` is its onset. Not current means resolved unless `status` says otherwise."""
    return Problem(
        concept=concept, current=current, clinical_status=status or ("active" if current else "resolved"),
        onset=noted, recorded=recorded, ref=ref("Condition", concept), display=display,
    )


def performed(concept: str, when: datetime | None) -> TestDone:
    return TestDone(concept=concept, performed=when, ref=ref("Procedure", concept))


def not_done(concept: str, when: datetime | None, reason: str = "Patient declined") -> TestDeclined:
    return TestDeclined(concept=concept, recorded=when, reason=reason, ref=ref("Procedure", f"{concept}-not-done"))


def lab(
    concept: str, value: float | None, unit: str, when: datetime | None, *, usable: bool = True,
    problem: str | None = None, status: str = "final",
) -> LabResult:
    return LabResult(
        concept=concept, value=value, unit=unit, effective=when, status=status, ref=ref("Observation", concept),
        usable=usable, problem=problem,
    )


def growth(
    bmi: float, when: datetime, z_score: float | None, *, reference: str = "WHO 2006/2007",
    problem: str | None = None,
) -> Growth:
    return Growth(
        bmi=bmi, measured=when, refs=(ref("Observation", "bmi"),), z_score=z_score,
        reference=reference if z_score is not None else "", problem=problem,
    )


def issue(concept: str, problem: str) -> DataIssue:
    return DataIssue(concept=concept, ref=ref("Observation", concept), problem=problem)


_SLOTS: dict[type, str] = {
    AntibodyResult: "antibodies", LabResult: "labs", Problem: "problems", TestDone: "tests_done",
    TestDeclined: "tests_declined", Growth: "growth", DataIssue: "issues",
}


def add(facts: PatientFacts, *items: object) -> PatientFacts:
    """Return facts with each item appended to the tuple of its type."""
    grouped: dict[str, list[object]] = {}
    for item in items:
        grouped.setdefault(_SLOTS[type(item)], []).append(item)
    return dataclasses.replace(
        facts, **{slot: (*getattr(facts, slot), *extra) for slot, extra in grouped.items()}
    )


def nxp2_myositis(
    *, onset_age: float, onset_at: datetime, sex: str = "female",
    positivity: Positivity = Positivity.POSITIVE, approximate: bool = False, with_diagnosis: bool = True,
) -> PatientFacts:
    """An anti-NXP2 patient with myositis that began at `onset_at`, aged `onset_age` years then."""
    diagnosis = problem("myositis", onset_at, display="Dermatomyositis")
    return PatientFacts(
        patient_id=f"patient-{next(_ids)}",
        birth_date=born_aged(onset_age, onset_at),
        sex=sex,
        antibodies=(antibody(positivity, onset_at + timedelta(days=14)),),
        problems=(diagnosis,) if with_diagnosis else (),
        onset=Onset(
            when=onset_at, source="recordedDate" if approximate else "onsetDateTime", approximate=approximate,
            ref=diagnosis.ref,
        ),
    )


# --- context from the real catalogue ------------------------------------------------------------


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    return load_catalogue(ROOT / "cards", REGISTRY)


def param(card_id: str, name: str) -> Param:
    entry = catalogue().rules[card_id].params[name]
    return Param(value=entry.value, unit=entry.unit)


def window(card_id: str, name: str) -> timedelta:
    return context(card_id).window(name)


def context(
    card_id: str, *, now: datetime = NOW, switches: Mapping[str, bool] | None = None,
) -> RuleContext:
    """The context the service gives the card's rule: its catalogue params and switches, and NOW."""
    entry = catalogue().rules[card_id]
    params = {name: Param(value=p.value, unit=p.unit) for name, p in entry.params.items()}
    return RuleContext(
        now=now,
        params=MappingProxyType(params),
        switches=MappingProxyType({**entry.switches, **(switches or {})}),
    )
