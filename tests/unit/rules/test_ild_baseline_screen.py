"""Card `nxp2-ild-baseline-screen`: adult and juvenile arms, the older-onset escalation, exclusions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cds_service.facts.model import PatientFacts, Positivity
from cds_service.rules.ild_baseline_screen import CARD_ID, ild_baseline_screen
from cds_service.rules.registry import Finding
from tests.unit.rules.factories import (
    NOW,
    add,
    antibody,
    context,
    days_ago,
    months_ago,
    nxp2_myositis,
    param,
    performed,
    problem,
    window,
)

DAY = timedelta(days=1)
LEAD_IN = window(CARD_ID, "hrct_lead_in_before_onset")
OLDER = param(CARD_ID, "older_onset_age").value


def patient(onset_age: float = 35.0, months_since_onset: float = 8) -> PatientFacts:
    return nxp2_myositis(onset_age=onset_age, onset_at=months_ago(months_since_onset))


def run(facts: PatientFacts) -> Finding | None:
    return ild_baseline_screen(facts, context(CARD_ID))


def test_fires_as_info_for_an_adult_without_a_chest_ct() -> None:
    finding = run(patient(onset_age=35))
    assert finding is not None
    assert finding.escalation is None
    assert finding.values == {"onset_age": "35"}
    assert [(d.label, d.value) for d in finding.data[-2:]] == [
        ("CT chest (incl. HRCT)", "none on record"), ("Pulmonary function tests", "none on record"),
    ]


@pytest.mark.parametrize(("onset_age", "escalation"), [(OLDER - 0.05, None), (OLDER + 0.05, "older-adult-onset")])
def test_older_adult_onset_escalates_to_warning(onset_age: float, escalation: str | None) -> None:
    finding = run(patient(onset_age=onset_age))
    assert finding is not None
    assert finding.escalation == escalation


@pytest.mark.parametrize(("ct_before_onset", "fires"), [(LEAD_IN, False), (LEAD_IN + DAY, True)])
def test_adult_chest_ct_lead_in_boundary(ct_before_onset: timedelta, fires: bool) -> None:
    facts = patient()
    assert facts.onset is not None
    facts = add(facts, performed("ct-chest", facts.onset.when - ct_before_onset))
    assert (run(facts) is not None) is fires


def test_adult_pft_alone_does_not_suppress_and_is_shown() -> None:
    finding = run(add(patient(), performed("pft", months_ago(1))))
    assert finding is not None
    assert (finding.data[-1].label, finding.data[-1].value) == ("Last pulmonary function tests", "done, 1 month ago")


def test_juvenile_onset_uses_the_share_arm() -> None:
    finding = run(patient(onset_age=9))
    assert finding is not None
    assert finding.escalation == "juvenile-onset"


@pytest.mark.parametrize("concept", ["pft", "ct-chest"])
def test_juvenile_pft_or_ct_since_onset_suppresses(concept: str) -> None:
    facts = patient(onset_age=9, months_since_onset=8)
    assert run(add(facts, performed(concept, months_ago(7)))) is None


def test_juvenile_pft_before_onset_does_not_count() -> None:
    facts = patient(onset_age=9, months_since_onset=8)
    assert run(add(facts, performed("pft", months_ago(8) - DAY))) is not None


@pytest.mark.parametrize("current", [True, False])
def test_any_ild_on_record_suppresses(current: bool) -> None:
    assert run(add(patient(), problem("ild", months_ago(5), current=current))) is None


@pytest.mark.parametrize("positivity", [Positivity.NEGATIVE, Positivity.EQUIVOCAL])
def test_silent_unless_positive(positivity: Positivity) -> None:
    assert run(nxp2_myositis(onset_age=50, onset_at=months_ago(8), positivity=positivity)) is None


def test_silent_without_a_diagnosis_or_birth_date() -> None:
    assert run(nxp2_myositis(onset_age=50, onset_at=months_ago(8), with_diagnosis=False)) is None
    assert run(PatientFacts(**{**patient().__dict__, "birth_date": None})) is None


def test_skin_ulcer_and_later_negative_are_noted() -> None:
    facts = add(patient(), problem("skin-ulcer", months_ago(2)), antibody(Positivity.NEGATIVE, days_ago(10)))
    finding = run(facts)
    assert finding is not None
    assert finding.notes == ("skin-ulcer-risk-factor", "later-negative-antibody")


def test_an_undated_ct_and_missing_imaging_are_gaps() -> None:
    facts = add(patient(), performed("ct-chest", None))
    facts = PatientFacts(**{**facts.__dict__, "unavailable": ("imagingStudies",)})
    finding = run(facts)
    assert finding is not None
    assert len(finding.gaps) == 2
    assert "has no date" in finding.gaps[0]
    assert "imaging studies could not be obtained" in finding.gaps[1]


def test_long_standing_disease_still_fires() -> None:
    # No time limit: a baseline screen is missing however long ago onset was.
    assert run(nxp2_myositis(onset_age=30, onset_at=NOW - timedelta(days=3650))) is not None
