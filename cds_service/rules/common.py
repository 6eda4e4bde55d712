"""Criteria shared by every anti-NXP2 card: antibody status, onset and age, and their data lines."""

from __future__ import annotations

from datetime import datetime, timedelta

from cds_service.facts.model import AntibodyResult, PatientFacts, Positivity
from cds_service.rules.registry import Datum

JUVENILE_BEFORE_YEARS = 18.0  # clinical-evidence.md reading rules: juvenile = onset before 18 (S0, S3)


def is_antibody_positive(facts: PatientFacts) -> bool:
    """True when any usable anti-NXP2 result was ever positive (antibodies are rarely re-tested)."""
    return facts.antibody_status() is Positivity.POSITIVE


def antibody_data(facts: PatientFacts) -> tuple[Datum, ...]:
    """The positive result a card rests on, and a later negative one when there is one."""
    shown: list[AntibodyResult] = []
    first = facts.first_positive_antibody()
    if first is not None:
        shown.append(first)
    later = facts.later_negative_antibody()
    if later is not None:
        shown.append(later)
    return tuple(_antibody_datum(result) for result in shown)


def _antibody_datum(result: AntibodyResult) -> Datum:
    value = result.positivity.value
    if result.intensity is not None:
        value += f", line-blot intensity {result.intensity:g}"
    if result.method:
        value += f" ({result.method})"
    return Datum("Anti-NXP2 antibody", value, result.effective, result.ref)


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


def is_juvenile_onset(facts: PatientFacts) -> bool:
    return facts.is_juvenile_onset() is True


def is_adult_onset(facts: PatientFacts) -> bool:
    return facts.is_juvenile_onset() is False


def current_age(facts: PatientFacts, now: datetime) -> float | None:
    return facts.age_on(now)


def is_child_now(facts: PatientFacts, now: datetime) -> bool:
    age = facts.age_on(now)
    return age is not None and age < JUVENILE_BEFORE_YEARS


def has_myositis_diagnosis(facts: PatientFacts) -> bool:
    """True when a DM, JDM, PM or myositis Condition is on record, whatever its clinical status.

    Cards 1-9 need it (refuted and entered-in-error Conditions never reach the facts); an antibody without a
    diagnosis is card 10's business (clinical-evidence.md section 5, card 10).
    """
    return bool(facts.problems_of("myositis"))


def is_within(when: datetime | None, now: datetime, window: timedelta) -> bool:
    """True when `when` lies in the closed interval [now - window, now]; undated events never do."""
    return when is not None and timedelta(0) <= now - when <= window
