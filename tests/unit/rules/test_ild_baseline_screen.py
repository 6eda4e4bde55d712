"""Card `nxp2-ild-baseline-screen`: adult and juvenile arms, the older-onset escalation, exclusions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cds_service.facts.model import PatientFacts, Positivity
from cds_service.rules.ild_baseline_screen import RULE_ID, ild_baseline_screen
from cds_service.rules.registry import Finding
from tests.support.builders import (
    NOW,
    PatientSketch,
    add,
    ago,
    antibody,
    completed_test,
    months_ago,
    myositis_patient,
    param,
    problem,
    rule_context,
    window,
)

DAY = timedelta(days=1)
LEAD_IN = window(RULE_ID, "hrct_lead_in_before_onset")
OLDER = param(RULE_ID, "older_onset_age").value


def patient(onset_age: float = 35.0, months_since_onset: float = 8) -> PatientSketch:
    return myositis_patient(onset_age=onset_age, onset_at=months_ago(months_since_onset))


def run(patient: PatientSketch | PatientFacts) -> Finding | None:
    facts = patient.facts() if isinstance(patient, PatientSketch) else patient
    return ild_baseline_screen(facts, rule_context(RULE_ID))


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
    onset = patient().facts().onset
    assert onset is not None
    assert (run(add(patient(), completed_test("ct-chest", at=onset.when - ct_before_onset))) is not None) is fires


def test_adult_pft_alone_does_not_suppress_and_is_shown() -> None:
    finding = run(add(patient(), completed_test("pft", at=months_ago(1))))
    assert finding is not None
    assert (finding.data[-1].label, finding.data[-1].value) == ("Last pulmonary function tests", "done, 1 month ago")


def test_juvenile_onset_uses_the_share_arm() -> None:
    finding = run(patient(onset_age=9))
    assert finding is not None
    assert finding.escalation == "juvenile-onset"


@pytest.mark.parametrize("concept", ["pft", "ct-chest"])
def test_juvenile_pft_or_ct_since_onset_suppresses(concept: str) -> None:
    facts = patient(onset_age=9, months_since_onset=8)
    assert run(add(facts, completed_test(concept, at=months_ago(7)))) is None


def test_juvenile_pft_before_onset_does_not_count() -> None:
    facts = patient(onset_age=9, months_since_onset=8)
    assert run(add(facts, completed_test("pft", at=months_ago(8) - DAY))) is not None


@pytest.mark.parametrize("current", [True, False])
def test_any_ild_on_record_suppresses(current: bool) -> None:
    assert run(add(patient(), problem("ild", at=months_ago(5), status="active" if current else "resolved"))) is None


@pytest.mark.parametrize("positivity", [Positivity.NEGATIVE, Positivity.EQUIVOCAL])
def test_silent_unless_positive(positivity: Positivity) -> None:
    assert run(myositis_patient(onset_age=50, onset_at=months_ago(8), result=positivity.value)) is None


def test_silent_without_a_diagnosis_or_birth_date() -> None:
    assert run(myositis_patient(onset_age=50, onset_at=months_ago(8), with_diagnosis=False)) is None
    assert run(patient().facts(birth_known=False)) is None


def test_skin_ulcer_and_later_negative_are_noted() -> None:
    facts = add(patient(), problem("skin-ulcer", at=months_ago(2)),
                antibody("negative", at=ago(days=10), method="line blot"))
    finding = run(facts)
    assert finding is not None
    assert finding.notes == ("skin-ulcer-risk-factor", "later-negative-antibody")


def test_an_undated_ct_and_missing_imaging_are_gaps() -> None:
    facts = add(patient(), completed_test("ct-chest", days=None))
    facts = facts.facts(unavailable=("imagingStudies",))
    finding = run(facts)
    assert finding is not None
    assert len(finding.gaps) == 2
    assert "has no date" in finding.gaps[0]
    assert "imaging studies could not be obtained" in finding.gaps[1]


def test_long_standing_disease_still_fires() -> None:
    # No time limit: a baseline screen is missing however long ago onset was.
    assert run(myositis_patient(onset_age=30, onset_at=NOW - timedelta(days=3650))) is not None
