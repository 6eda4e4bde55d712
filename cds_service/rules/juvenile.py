"""Who the juvenile dermatomyositis cards (6-9) are for: anti-NXP2 positive, myositis on record, onset before 18.

Builds on `rules.common` (antibody and onset criteria shared by every card) without changing it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cds_service.facts.model import PatientFacts
from cds_service.rules.common import (
    antibody_data,
    has_myositis_diagnosis,
    is_antibody_positive,
    is_child_now,
    is_juvenile_onset,
    onset_datum,
)
from cds_service.rules.registry import Datum

# Note key every card 6-10 declares: a later negative result is shown, the earlier positive one still counts.
LATER_NEGATIVE_NOTE = "later-negative"




def is_positive_jdm_patient(facts: PatientFacts) -> bool:
    """Anti-NXP2 ever positive (usable result), myositis on record, and myositis onset before 18."""
    return is_antibody_positive(facts) and has_myositis_diagnosis(facts) and is_juvenile_onset(facts)


def is_positive_jdm_child(facts: PatientFacts, now: datetime) -> bool:
    """As `is_positive_jdm_patient`, and still under 18 today (cards 6 and 7)."""
    return is_positive_jdm_patient(facts) and is_child_now(facts, now)


def time_since_onset(facts: PatientFacts, now: datetime) -> timedelta | None:
    return None if facts.onset is None else now - facts.onset.when


def population_data(facts: PatientFacts) -> tuple[Datum, ...]:
    """The data lines that put the patient in the population: antibody results and myositis onset."""
    onset = onset_datum(facts)
    return antibody_data(facts) + (() if onset is None else (onset,))


def antibody_notes(facts: PatientFacts) -> tuple[str, ...]:
    return (LATER_NEGATIVE_NOTE,) if facts.later_negative_antibody() is not None else ()
