"""Who a card is for and what was done when: the yes/no questions rules ask of `PatientFacts`.

Pure functions of facts plus explicit times; thresholds stay in the catalogue. The juvenile age limit is
`facts.model.JUVENILE_BEFORE_YEARS`, written once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from cds_service.facts.model import JUVENILE_BEFORE_YEARS, PatientFacts, Positivity, TestDeclined, TestDone

# Prefetch keys a completed or declined test comes from: without them, a test that was done may be missing.
TEST_SOURCES = ("procedures", "diagnosticReports", "imagingStudies")


# --- population -----------------------------------------------------------------------------------


def is_antibody_positive(facts: PatientFacts) -> bool:
    """True when any usable anti-NXP2 result was ever positive (antibodies are rarely re-tested)."""
    return facts.antibody_status() is Positivity.POSITIVE


def has_myositis_diagnosis(facts: PatientFacts) -> bool:
    """True when a DM, JDM, PM or myositis Condition is on record, whatever its clinical status.

    Cards 1-9 need it (refuted and entered-in-error Conditions never reach the facts); an antibody without a
    diagnosis is card 10's business (clinical-evidence.md section 5, card 10).
    """
    return bool(facts.problems_of("myositis"))


def is_juvenile_onset(facts: PatientFacts) -> bool:
    return facts.is_juvenile_onset() is True


def is_adult_onset(facts: PatientFacts) -> bool:
    return facts.is_juvenile_onset() is False


def is_child_now(facts: PatientFacts, now: datetime) -> bool:
    age = facts.age_on(now)
    return age is not None and age < JUVENILE_BEFORE_YEARS


def is_positive_myositis_patient(facts: PatientFacts) -> bool:
    """Anti-NXP2 ever positive (usable result) and myositis on record: the population of cards 1-9."""
    return is_antibody_positive(facts) and has_myositis_diagnosis(facts)


def is_positive_jdm_patient(facts: PatientFacts) -> bool:
    """Anti-NXP2 ever positive, myositis on record, and myositis onset before 18."""
    return is_positive_myositis_patient(facts) and is_juvenile_onset(facts)


def is_positive_jdm_child(facts: PatientFacts, now: datetime) -> bool:
    """As `is_positive_jdm_patient`, and still under 18 today."""
    return is_positive_jdm_patient(facts) and is_child_now(facts, now)


# --- time -----------------------------------------------------------------------------------------


def is_within(when: datetime | None, now: datetime, window: timedelta) -> bool:
    """True when `when` lies in the closed interval [now - window, now]; undated events never do."""
    return when is not None and timedelta(0) <= now - when <= window


def time_since_onset(facts: PatientFacts, now: datetime) -> timedelta | None:
    return None if facts.onset is None else now - facts.onset.when


# --- tests done or declined -----------------------------------------------------------------------


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
