"""Card `nxp2-jdm-gi-risk-watch`: features linked to GI perforation in anti-NXP2 JDM, and low BMI-for-age."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cds_service.facts.model import PatientFacts, Positivity
from cds_service.rules.jdm_gi_risk_watch import RULE_ID, jdm_gi_risk_watch
from cds_service.rules.registry import Finding
from tests.support.builders import (
    NOW,
    PatientSketch,
    add,
    ago,
    antibody,
    growth,
    lab_result,
    months_ago,
    myositis_patient,
    param,
    problem,
    rule_context,
    window,
)

DAY = timedelta(days=1)
Z_LOW = param(RULE_ID, "bmi_for_age_z_at_or_below").value
GROWTH_WINDOW = window(RULE_ID, "growth_window")


def child(
    onset_age: float = 6.0, months_since_onset: float = 6, positivity: Positivity = Positivity.POSITIVE
) -> PatientSketch:
    return myositis_patient(onset_age=onset_age, onset_at=months_ago(months_since_onset), result=positivity.value)


def run(patient: PatientSketch | PatientFacts) -> Finding | None:
    facts = patient.facts() if isinstance(patient, PatientSketch) else patient
    return jdm_gi_risk_watch(facts, rule_context(RULE_ID))


@pytest.mark.parametrize(
    ("concept", "named"),
    [("skin-ulcer", "skin ulcer"), ("oedema", "oedema"), ("dysphagia", "dysphagia"),
     ("dysphonia", "hoarseness or dysphonia"), ("aspiration", "aspiration")],
)
def test_each_current_feature_fires_a_warning(concept: str, named: str) -> None:
    finding = run(add(child(), problem(concept, at=months_ago(1))))
    assert finding is not None
    assert finding.values == {"features": named}
    assert finding.escalation is None
    assert finding.data[-1].label != "Body-mass index"
    assert finding.gaps == ("No BMI in the last 90 days: low weight for age was not assessed.",)


def test_no_feature_is_silent() -> None:
    assert run(child()) is None


def test_a_resolved_feature_is_silent() -> None:
    assert run(add(child(), problem("skin-ulcer", at=months_ago(5), status="resolved"))) is None


@pytest.mark.parametrize(("z_score", "fires"), [(Z_LOW, True), (Z_LOW + 0.01, False)])
def test_bmi_for_age_z_threshold(z_score: float, fires: bool) -> None:
    finding = run(add(child(), growth(12.5, at=ago(days=20), z_score=z_score)))
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.values == {"features": "low BMI for age"}
        assert finding.data[-1].value == f"BMI 12.5 kg/m2, BMI-for-age z {z_score:.2f}, WHO 2006/2007"
        assert finding.gaps == ()


@pytest.mark.parametrize(("measured_before_now", "fires"), [(GROWTH_WINDOW, True), (GROWTH_WINDOW + DAY, False)])
def test_growth_window_boundary(measured_before_now: timedelta, fires: bool) -> None:
    facts = add(child(), growth(12.0, at=NOW - measured_before_now, z_score=Z_LOW - 0.5))
    assert (run(facts) is not None) is fires


def test_a_low_fixed_bmi_without_z_does_not_fire() -> None:
    facts = add(child(), growth(12.0, at=ago(days=10), z_score=None, problem_text="sex not recorded"))
    assert run(facts) is None


def test_a_missing_z_is_said_when_another_feature_fires() -> None:
    no_z = growth(12.0, at=ago(days=10), z_score=None, problem_text="sex not recorded")
    facts = add(child(), problem("oedema", at=months_ago(1)), no_z)
    finding = run(facts)
    assert finding is not None
    assert finding.gaps == (
        "The BMI-for-age z-score could not be computed (sex not recorded): low weight was not assessed "
        "(a fixed BMI cut-off is not used).",
    )
    assert finding.data[-1].value == "BMI 12.0 kg/m2, BMI-for-age z not available"


def test_the_newest_bmi_counts() -> None:
    facts = add(child(), growth(12.0, at=ago(days=60), z_score=Z_LOW - 1), growth(15.5, at=ago(days=5), z_score=-0.4))
    assert run(facts) is None


def test_an_unusable_bmi_is_said() -> None:
    facts = add(child(), problem("skin-ulcer", at=months_ago(1)),
                lab_result("bmi", 11.0, unit="lb/in2", at=ago(days=3), usable=False,
                           problem_text="unit not recognised"))
    finding = run(facts)
    assert finding is not None
    assert finding.gaps[0].endswith("(BMI) was not used: unit not recognised.")


def test_several_features_are_listed() -> None:
    facts = add(child(), problem("skin-ulcer", at=months_ago(1)), problem("oedema", at=months_ago(1)),
                growth(12.5, at=ago(days=20), z_score=Z_LOW - 0.3))
    finding = run(facts)
    assert finding is not None
    assert finding.values == {"features": "skin ulcer, oedema, low BMI for age"}


@pytest.mark.parametrize(("onset_age", "fires"), [(17.95, True), (18.05, False)])
def test_adult_onset_is_excluded(onset_age: float, fires: bool) -> None:
    # Onset 1 month ago so a 17.95-year-old at onset is still under 18 now.
    facts = add(child(onset_age=onset_age, months_since_onset=0.3), problem("skin-ulcer", at=ago(days=5)))
    assert (run(facts) is not None) is fires


def test_juvenile_onset_patient_now_adult_is_silent() -> None:
    facts = add(child(onset_age=10, months_since_onset=12 * 9), problem("skin-ulcer", at=months_ago(1)))
    assert run(facts) is None


@pytest.mark.parametrize("positivity", [Positivity.NEGATIVE, Positivity.EQUIVOCAL])
def test_silent_unless_positive(positivity: Positivity) -> None:
    assert run(add(child(positivity=positivity), problem("skin-ulcer", at=months_ago(1)))) is None


def test_later_negative_antibody_is_noted() -> None:
    facts = add(child(), problem("oedema", at=months_ago(1)), antibody("negative", at=ago(days=7), method="line blot"))
    finding = run(facts)
    assert finding is not None
    assert finding.notes == ("later-negative-antibody",)


def test_silent_without_a_birth_date() -> None:
    facts = add(child(), problem("skin-ulcer", at=months_ago(1)))
    assert run(facts.facts(birth_known=False)) is None
