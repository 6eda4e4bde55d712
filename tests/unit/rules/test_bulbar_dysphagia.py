"""Card `nxp2-bulbar-dysphagia`: bulbar Conditions, function scores, the recent-assessment downgrade."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cds_service.facts.model import PatientFacts, Positivity
from cds_service.rules.bulbar_dysphagia import RULE_ID, bulbar_dysphagia
from cds_service.rules.registry import Finding
from tests.support.builders import (
    NOW,
    PatientSketch,
    add,
    completed_test,
    lab,
    lab_result,
    months_ago,
    myositis_patient,
    param,
    problem,
    rule_context,
    window,
)

DAY = timedelta(days=1)
CMAS = param(RULE_ID, "cmas_below").value
MMT8 = param(RULE_ID, "mmt8_below").value
SCORE_WINDOW = window(RULE_ID, "score_window")
SWALLOW_WINDOW = window(RULE_ID, "swallow_assessment_window")


def patient(onset_age: float = 50.0, positivity: Positivity = Positivity.POSITIVE) -> PatientSketch:
    return myositis_patient(onset_age=onset_age, onset_at=months_ago(10), result=positivity.value)


def run(patient: PatientSketch | PatientFacts, **switches: bool) -> Finding | None:
    facts = patient.facts() if isinstance(patient, PatientSketch) else patient
    return bulbar_dysphagia(facts, rule_context(RULE_ID, switches=switches))


@pytest.mark.parametrize(
    ("concept", "named"),
    [("dysphagia", "dysphagia"), ("dysphonia", "dysphonia or hoarseness"), ("aspiration", "aspiration")],
)
def test_each_current_bulbar_condition_fires_a_warning(concept: str, named: str) -> None:
    finding = run(add(patient(), problem(concept, at=months_ago(2))))
    assert finding is not None
    assert finding.escalation is None
    assert finding.values == {"features": named, "assessed": "never on record"}
    assert finding.data[-1].value == "none on record"


def test_a_resolved_condition_is_silent() -> None:
    assert run(add(patient(), problem("dysphagia", at=months_ago(8), status="resolved"))) is None


def test_no_bulbar_feature_is_silent() -> None:
    assert run(patient()) is None


@pytest.mark.parametrize("positivity", [Positivity.NEGATIVE, Positivity.EQUIVOCAL])
def test_silent_unless_positive(positivity: Positivity) -> None:
    assert run(add(patient(positivity=positivity), problem("dysphagia", at=months_ago(2)))) is None


@pytest.mark.parametrize(("assessed_before_now", "escalation"), [(SWALLOW_WINDOW, "recently-assessed"),
                                                                 (SWALLOW_WINDOW + DAY, None)])
def test_a_recent_swallow_assessment_downgrades_to_info(assessed_before_now: timedelta, escalation: str | None) -> None:
    facts = add(patient(), problem("dysphagia", at=months_ago(4)),
                completed_test("swallow-study", at=NOW - assessed_before_now))
    finding = run(facts)
    assert finding is not None
    assert finding.escalation == escalation
    assert finding.data[-1].label == "Last swallow assessment"


@pytest.mark.parametrize(("score", "fires"), [(CMAS - 1, True), (CMAS, False)])
def test_cmas_threshold(score: float, fires: bool) -> None:
    facts = add(patient(onset_age=8), lab("cmas", score, at=NOW - 10 * DAY))
    finding = run(facts)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.values["features"] == f"CMAS {score:g}"
        assert finding.notes == ("juvenile-share-high-risk",)


@pytest.mark.parametrize(("score", "fires"), [(MMT8 - 1, True), (MMT8, False)])
def test_mmt8_threshold_and_scale_note(score: float, fires: bool) -> None:
    finding = run(add(patient(), lab("mmt8", score, at=NOW - 10 * DAY)))
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.notes == ("mmt8-scale",)


@pytest.mark.parametrize(("taken_before_now", "fires"), [(SCORE_WINDOW, True), (SCORE_WINDOW + DAY, False)])
def test_score_window_boundary(taken_before_now: timedelta, fires: bool) -> None:
    facts = add(patient(onset_age=8), lab("cmas", CMAS - 5, at=NOW - taken_before_now))
    assert (run(facts) is not None) is fires


def test_the_newest_score_counts() -> None:
    older, newer = lab("cmas", 8, at=NOW - 40 * DAY), lab("cmas", 30, at=NOW - 5 * DAY)
    facts = add(patient(onset_age=8), older, newer)
    assert run(facts) is None


def test_scores_are_ignored_when_the_site_turns_them_off() -> None:
    facts = add(patient(onset_age=8), lab("cmas", 3, at=NOW - 5 * DAY))
    assert run(facts, use_function_scores=False) is None


def test_an_unusable_score_does_not_fire_and_is_said() -> None:
    unusable = lab_result("cmas", 3, unit="points", at=NOW - 5 * DAY, usable=False, problem_text="unit not recognised")
    facts = add(patient(onset_age=8), unusable)
    assert run(facts) is None
    finding = run(add(facts, problem("dysphagia", at=months_ago(1))))
    assert finding is not None
    assert len(finding.gaps) == 1
    assert finding.gaps[0].endswith("(CMAS) was not used: unit not recognised.")


def test_adult_dysphagia_is_noted_as_a_cancer_feature() -> None:
    finding = run(add(patient(onset_age=50), problem("dysphagia", at=months_ago(2))))
    assert finding is not None
    assert finding.notes == ("adult-cancer-risk-feature",)


def test_adult_hoarseness_alone_is_not_a_cancer_feature() -> None:
    finding = run(add(patient(onset_age=50), problem("dysphonia", at=months_ago(2))))
    assert finding is not None
    assert finding.notes == ()


def test_several_features_are_all_listed() -> None:
    facts = add(patient(onset_age=8), problem("dysphagia", at=months_ago(2)), problem("dysphonia", at=months_ago(2)),
                lab("cmas", 10, at=NOW - 3 * DAY))
    finding = run(facts)
    assert finding is not None
    assert finding.values["features"] == "dysphagia, dysphonia or hoarseness, CMAS 10"


def test_silent_without_a_myositis_diagnosis() -> None:
    facts = myositis_patient(onset_age=50, onset_at=months_ago(10), with_diagnosis=False)
    assert run(add(facts, problem("dysphagia", at=months_ago(2)))) is None


def test_without_a_birth_date_it_still_fires_without_an_age_note() -> None:
    facts = add(patient(), problem("dysphagia", at=months_ago(2)))
    facts = facts.facts(birth_known=False)
    finding = run(facts)
    assert finding is not None
    assert finding.notes == ()
