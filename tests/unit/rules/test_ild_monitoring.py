"""Card `nxp2-ild-monitoring`: first-year and later PFT intervals, exclusions and the juvenile switch."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cds_service.facts.model import PatientFacts, Positivity
from cds_service.rules.ild_monitoring import RULE_ID, ild_monitoring
from cds_service.rules.registry import Finding
from tests.support.builders import (
    MONTH,
    NOW,
    PatientSketch,
    add,
    completed_test,
    months_ago,
    myositis_patient,
    problem,
    rule_context,
    window,
)

DAY = timedelta(days=1)
EARLY = window(RULE_ID, "early_phase")
FIRST_YEAR = window(RULE_ID, "pft_interval_first_year")
LATER = window(RULE_ID, "pft_interval_after_first_year")


def with_ild(ild_before_now: timedelta, *, onset_age: float = 50.0, current: bool = True) -> PatientSketch:
    patient = myositis_patient(onset_age=onset_age, onset_at=months_ago(30))
    status = "active" if current else "resolved"
    return add(patient, problem("ild", at=NOW - ild_before_now, status=status, display="Interstitial lung disease"))


def run(patient: PatientSketch | PatientFacts, **switches: bool) -> Finding | None:
    facts = patient.facts() if isinstance(patient, PatientSketch) else patient
    return ild_monitoring(facts, rule_context(RULE_ID, switches=switches))


def test_fires_for_new_ild_without_pfts() -> None:
    finding = run(with_ild(4 * MONTH))
    assert finding is not None
    assert finding.values == {"interval": "6 months", "ild_for": "4 months", "last_pft": "none on record"}
    assert [(d.label, d.value) for d in finding.data[-2:]] == [
        ("Interstitial lung disease", "Interstitial lung disease (active)"),
        ("Pulmonary function tests", "none on record"),
    ]


@pytest.mark.parametrize(("pft_before_now", "fires"), [(FIRST_YEAR, False), (FIRST_YEAR + DAY, True)])
def test_first_year_interval_boundary(pft_before_now: timedelta, fires: bool) -> None:
    facts = add(with_ild(EARLY - 30 * DAY), completed_test("pft", at=NOW - pft_before_now))
    assert (run(facts) is not None) is fires


@pytest.mark.parametrize(("pft_before_now", "fires"), [(LATER, False), (LATER + DAY, True)])
def test_later_interval_boundary(pft_before_now: timedelta, fires: bool) -> None:
    facts = add(with_ild(EARLY * 2), completed_test("pft", at=NOW - pft_before_now))
    finding = run(facts)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.values["interval"] == "12 months"
        assert finding.values["last_pft"] == "12 months ago"


@pytest.mark.parametrize(("ild_before_now", "fires"), [(EARLY, True), (EARLY + DAY, False)])
def test_early_phase_boundary_with_a_pft_between_the_two_intervals(ild_before_now: timedelta, fires: bool) -> None:
    # A PFT 9 months ago is overdue in the first year and on time afterwards.
    facts = add(with_ild(ild_before_now), completed_test("pft", at=months_ago(9)))
    assert (run(facts) is not None) is fires


def test_an_undated_ild_uses_the_later_interval() -> None:
    facts = add(myositis_patient(onset_age=50, onset_at=months_ago(30)), problem("ild", days=None))
    assert run(add(facts, completed_test("pft", at=months_ago(9)))) is None
    finding = run(add(facts, completed_test("pft", at=months_ago(13))))
    assert finding is not None
    assert finding.values["ild_for"] == "an unknown time"
    assert finding.values["interval"] == "12 months"
    assert finding.gaps == (
        "The ILD Condition has no onset or recorded date, so the after-first-year PFT interval was used.",
    )


def test_an_undated_pft_is_not_counted_and_is_said() -> None:
    finding = run(add(with_ild(4 * MONTH), completed_test("pft", days=None)))
    assert finding is not None
    assert finding.values["last_pft"] == "none on record"
    assert len(finding.gaps) == 1
    assert "has no date and was not counted" in finding.gaps[0]


def test_resolved_ild_is_silent() -> None:
    assert run(with_ild(4 * MONTH, current=False)) is None


def test_recorded_date_stands_in_for_a_missing_onset() -> None:
    undated_ild = problem("ild", days=None, recorded_at=months_ago(3))
    facts = add(myositis_patient(onset_age=50, onset_at=months_ago(30)), undated_ild)
    finding = run(facts)
    assert finding is not None
    assert finding.values["interval"] == "6 months"


@pytest.mark.parametrize(("switch", "fires"), [(False, False), (True, True)])
def test_juvenile_onset_only_by_switch(switch: bool, fires: bool) -> None:
    facts = with_ild(4 * MONTH, onset_age=9)
    assert (run(facts, include_juvenile_onset=switch) is not None) is fires


@pytest.mark.parametrize("positivity", [Positivity.NEGATIVE, Positivity.EQUIVOCAL])
def test_silent_unless_positive(positivity: Positivity) -> None:
    facts = myositis_patient(onset_age=50, onset_at=months_ago(30), result=positivity.value)
    assert run(add(facts, problem("ild", at=months_ago(4)))) is None


def test_a_ct_is_shown_but_does_not_replace_pfts() -> None:
    facts = add(with_ild(4 * MONTH), completed_test("ct-chest", at=months_ago(1)))
    finding = run(facts)
    assert finding is not None
    assert finding.data[-1].label == "Last CT chest (incl. HRCT)"


def test_silent_without_a_birth_date() -> None:
    facts = with_ild(4 * MONTH)
    assert run(facts.facts(birth_known=False)) is None
