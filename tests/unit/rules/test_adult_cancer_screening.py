"""Card `nxp2-adult-cancer-screening`: facts in, finding out, with the catalogue's own windows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cds_service.facts.model import PatientFacts, Positivity
from cds_service.rules.adult_cancer_screening import RULE_ID, adult_cancer_screening
from cds_service.rules.registry import Finding
from tests.support.builders import (
    NOW,
    PatientSketch,
    add,
    ago,
    antibody,
    completed_test,
    declined_test,
    months_ago,
    myositis_patient,
    param,
    problem,
    rule_context,
    window,
)

DAY = timedelta(days=1)
SCREEN_WINDOW = window(RULE_ID, "screening_window_after_onset")
LOOKBACK = window(RULE_ID, "scan_lookback")
OLDER = param(RULE_ID, "older_onset_age").value


def adult(onset_age: float = 35.0, months_since_onset: float = 8) -> PatientSketch:
    return myositis_patient(onset_age=onset_age, onset_at=months_ago(months_since_onset))


def run(patient: PatientSketch | PatientFacts, **switches: bool) -> Finding | None:
    facts = patient.facts() if isinstance(patient, PatientSketch) else patient
    return adult_cancer_screening(facts, rule_context(RULE_ID, switches=switches))


def test_fires_for_adult_onset_without_a_screening_scan() -> None:
    finding = run(adult(onset_age=35, months_since_onset=8))
    assert finding is not None
    assert finding.rule_id == RULE_ID
    assert finding.escalation is None
    assert finding.notes == ()
    labels = [d.label for d in finding.data]
    assert labels[:3] == ["Anti-NXP2 antibody", "Myositis", "Myositis onset"]
    assert finding.data[-1].value == "no CT or PET-CT on record"
    assert finding.values == {
        "since_onset": "8 months", "onset_age": "35", "lookback": "12 months", "window": "36 months",
    }
    assert finding.gaps == ()


@pytest.mark.parametrize("positivity", [Positivity.NEGATIVE, Positivity.EQUIVOCAL])
def test_silent_unless_the_antibody_was_positive(positivity: Positivity) -> None:
    assert run(myositis_patient(onset_age=50, onset_at=months_ago(8), result=positivity.value)) is None


def test_silent_when_the_only_positive_result_is_unreadable() -> None:
    facts = myositis_patient(onset_age=50, onset_at=months_ago(8), result="negative")
    facts = add(facts, antibody("positive", usable=False))
    assert facts.facts().antibody_status() is Positivity.NEGATIVE
    assert run(facts) is None


def test_a_later_negative_result_is_shown_and_noted() -> None:
    facts = add(adult(), antibody("negative", at=ago(days=30), method="line blot"))
    finding = run(facts)
    assert finding is not None
    assert "later-negative-antibody" in finding.notes
    assert [d.value for d in finding.data if d.label == "Anti-NXP2 antibody"] == [
        "positive (line blot)", "negative (line blot)",
    ]


def test_silent_without_a_myositis_diagnosis() -> None:
    assert run(myositis_patient(onset_age=50, onset_at=months_ago(8), with_diagnosis=False)) is None


def test_silent_without_a_birth_date() -> None:
    facts = adult().facts(birth_known=False)
    assert run(facts) is None


@pytest.mark.parametrize(("onset_age", "fires"), [(17.95, False), (18.05, True)])
def test_juvenile_onset_is_excluded(onset_age: float, fires: bool) -> None:
    assert (run(adult(onset_age=onset_age)) is not None) is fires


@pytest.mark.parametrize(("onset_before_now", "fires"), [(SCREEN_WINDOW, True), (SCREEN_WINDOW + DAY, False)])
def test_screening_window_after_onset_boundary(onset_before_now: timedelta, fires: bool) -> None:
    facts = myositis_patient(onset_age=50, onset_at=NOW - onset_before_now)
    assert (run(facts) is not None) is fires


@pytest.mark.parametrize(("scan_before_now", "fires"), [(LOOKBACK, False), (LOOKBACK + DAY, True)])
def test_pet_ct_look_back_boundary(scan_before_now: timedelta, fires: bool) -> None:
    facts = add(adult(months_since_onset=20), completed_test("pet-ct", at=NOW - scan_before_now))
    finding = run(facts)
    assert (finding is not None) is fires
    if finding is not None:  # the older scan is shown, not counted
        assert finding.data[-1].label == "Last FDG PET-CT"
        assert finding.data[-1].value == "done, 12 months ago"
        assert "partial-imaging" not in finding.notes


def test_ct_of_chest_and_abdomen_pelvis_counts_as_a_screen() -> None:
    facts = add(adult(), completed_test("ct-chest", at=months_ago(2)),
                completed_test("ct-abdomen-pelvis", at=months_ago(2)))
    assert run(facts) is None


@pytest.mark.parametrize("concept", ["ct-chest", "ct-abdomen-pelvis", "ct-neck"])
def test_a_partial_ct_fires_with_a_note(concept: str) -> None:
    finding = run(add(adult(), completed_test(concept, at=months_ago(2))))
    assert finding is not None
    assert finding.notes == ("partial-imaging",)
    assert finding.data[-1].value == "done, 2 months ago"


def test_an_undated_scan_is_not_counted_and_is_said() -> None:
    facts = add(adult(), completed_test("pet-ct", days=None))
    finding = run(facts)
    assert finding is not None
    assert len(finding.gaps) == 1
    assert "has no date and was not counted" in finding.gaps[0]


def test_active_malignancy_suppresses_and_a_resolved_one_is_noted() -> None:
    assert run(add(adult(), problem("malignancy", at=months_ago(3)))) is None
    finding = run(add(adult(), problem("malignancy", at=months_ago(60), status="resolved")))
    assert finding is not None
    assert finding.notes == ("past-malignancy",)
    assert finding.data[-1].label == "Malignancy"


@pytest.mark.parametrize(("declined_before_now", "fires"), [(LOOKBACK, False), (LOOKBACK + DAY, True)])
def test_a_declined_screen_suppresses_within_the_look_back(declined_before_now: timedelta, fires: bool) -> None:
    facts = add(adult(months_since_onset=20), declined_test("ct-chest", at=NOW - declined_before_now))
    assert (run(facts) is not None) is fires


def test_an_undated_refusal_does_not_suppress_and_is_said() -> None:
    refusal = declined_test("pet-ct", days=None)
    facts = add(adult(), refusal)
    finding = run(facts)
    assert finding is not None
    assert finding.gaps == (f"{refusal.ref.reference} (FDG PET-CT not done) has no date and was not counted.",)


@pytest.mark.parametrize(("onset_age", "noted"), [(OLDER - 0.05, False), (OLDER + 0.05, True)])
def test_older_onset_is_noted(onset_age: float, noted: bool) -> None:
    finding = run(adult(onset_age=onset_age))
    assert finding is not None
    assert ("older-onset" in finding.notes) is noted


def test_dysphagia_and_skin_ulcer_are_noted_and_shown() -> None:
    facts = add(adult(), problem("dysphagia", at=months_ago(7)),
                problem("skin-ulcer", at=months_ago(6), status="resolved"))
    finding = run(facts)
    assert finding is not None
    assert finding.notes == ("dysphagia", "skin-ulcer")
    assert [d.label for d in finding.data[-2:]] == ["Dysphagia", "Skin ulcer"]


def test_the_site_high_risk_switch_adds_its_note() -> None:
    finding = run(adult(), site_treats_nxp2_as_imacs_high_risk=True)
    assert finding is not None
    assert finding.notes == ("site-high-risk-policy",)


def test_an_approximate_onset_and_missing_procedures_are_said() -> None:
    facts = myositis_patient(onset_age=50, onset_at=months_ago(8), approximate=True)
    facts = facts.facts(unavailable=("procedures",))
    finding = run(facts)
    assert finding is not None
    assert finding.gaps == (
        "The procedures could not be obtained from the EHR: this card may be incomplete.",
        "The myositis onset date is approximate (taken from the recordedDate), "
        "so the age at onset and the time since onset are approximate too.",
    )
