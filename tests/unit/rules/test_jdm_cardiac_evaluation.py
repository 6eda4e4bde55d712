"""Card 8 `nxp2-jdm-cardiac-evaluation`: work-up since onset, and troponin I within the catalogue's 30 days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cds_service.facts.model import Positivity
from cds_service.facts.model import TestDone as CompletedTest  # a Test* name would be collected by pytest
from tests.support.builders import (
    adult_onset_facts,
    antibody,
    completed_test,
    declined_test,
    jdm_child_facts,
    lab,
    lab_result,
    param,
    rule_context,
    run_rule,
)

RULE = "nxp2-jdm-cardiac-evaluation"
WINDOW_DAYS = param(RULE, "troponin_window").value  # 30 d
ONSET_DAYS = 180  # jdm_child_facts' default onset: 2026-05-28


def work_up() -> tuple[CompletedTest, ...]:
    return (completed_test("ecg", days=100), completed_test("echocardiogram", days=100))


def test_the_catalogue_window_is_thirty_days() -> None:
    assert rule_context(RULE).window("troponin_window") == timedelta(days=30)


def test_no_ecg_and_no_echocardiogram_since_onset_is_an_info_reminder() -> None:
    finding = run_rule(RULE, jdm_child_facts())
    assert finding is not None
    assert finding.escalation is None
    assert finding.values["onset"] == "2026-05-28"
    assert [d.label for d in finding.data] == ["Anti-NXP2 antibody", "Myositis onset"]
    assert finding.gaps == ()


@pytest.mark.parametrize("concept", ["ecg", "echocardiogram"])
def test_either_test_since_onset_is_enough(concept: str) -> None:
    assert run_rule(RULE, jdm_child_facts(completed_test(concept, days=100))) is None


def test_a_test_on_the_day_of_onset_counts_and_one_the_day_before_does_not() -> None:
    assert run_rule(RULE, jdm_child_facts(completed_test("ecg", days=ONSET_DAYS))) is None
    assert run_rule(RULE, jdm_child_facts(completed_test("ecg", days=ONSET_DAYS + 1))) is not None


def test_an_undated_test_is_not_counted_and_is_named() -> None:
    undated = completed_test("echocardiogram", days=None)
    finding = run_rule(RULE, jdm_child_facts(undated))
    assert finding is not None
    assert finding.gaps == (f"Echocardiogram ({undated.ref.reference}) has no performed date: "
                            "not counted as done since onset.",)


def test_troponin_i_above_the_reference_range_escalates_even_after_a_work_up() -> None:
    raised = lab("troponin-i", 60, days=3, high=34)
    finding = run_rule(RULE, jdm_child_facts(*work_up(), raised))
    assert finding is not None
    assert finding.escalation == "troponin-i-raised"
    assert finding.values["troponin"] == "60 ng/L" and finding.values["troponin_date"] == "2026-11-21"
    assert finding.data[2].value == "60 ng/L, reference up to 34, above the reference range"
    assert [d.label for d in finding.data[3:]] == ["ECG", "Echocardiogram"]


def test_troponin_i_without_a_work_up_escalates_too() -> None:
    finding = run_rule(RULE, jdm_child_facts(lab("troponin-i", 60, days=3, high=34)))
    assert finding is not None and finding.escalation == "troponin-i-raised"


def test_troponin_i_equal_to_the_upper_limit_is_not_raised() -> None:
    assert run_rule(RULE, jdm_child_facts(*work_up(), lab("troponin-i", 34, days=3, high=34))) is None


def test_troponin_i_window_includes_its_last_day_and_not_the_next_hour() -> None:
    assert run_rule(RULE, jdm_child_facts(*work_up(), lab("troponin-i", 60, days=WINDOW_DAYS, high=34))) is not None
    late = lab("troponin-i", 60, days=WINDOW_DAYS, hours=1, high=34)
    assert run_rule(RULE, jdm_child_facts(*work_up(), late)) is None


def test_a_newer_normal_troponin_i_is_shown_next_to_the_raised_one() -> None:
    newer = lab("troponin-i", 10, days=1, high=34)
    finding = run_rule(RULE, jdm_child_facts(*work_up(), lab("troponin-i", 60, days=10, high=34), newer))
    assert finding is not None
    assert finding.data[3].label == "Troponin I, newest" and finding.data[3].ref == newer.ref


def test_troponin_i_without_a_reference_range_is_not_judged_and_is_named() -> None:
    no_range = lab("troponin-i", 60, days=3)
    assert run_rule(RULE, jdm_child_facts(*work_up(), no_range)) is None
    finding = run_rule(RULE, jdm_child_facts(no_range))
    assert finding is not None and finding.escalation is None
    assert finding.gaps == (f"Troponin I on 2026-11-21 ({no_range.ref.reference}) has no upper reference limit: "
                            "not judged.",)


def test_an_unusable_troponin_i_is_not_used_and_is_named() -> None:
    unreadable = lab_result("troponin-i", 60, days=3, high=34, usable=False, problem_text="status preliminary")
    finding = run_rule(RULE, jdm_child_facts(unreadable))
    assert finding is not None and finding.escalation is None
    assert f"Troponin I on 2026-11-21 ({unreadable.ref.reference}) not used: status preliminary." in finding.gaps


@pytest.mark.parametrize("concept", ["troponin-t", "ck-mb"])
def test_troponin_t_or_ck_mb_alone_does_not_fire(concept: str) -> None:
    assert run_rule(RULE, jdm_child_facts(*work_up(), lab(concept, 500, days=3, high=14))) is None


def test_a_declined_test_is_shown_and_noted() -> None:
    finding = run_rule(RULE, jdm_child_facts(declined_test("echocardiogram", reason="parents declined sedation")))
    assert finding is not None and finding.notes == ("test-declined",)
    assert finding.data[-1].value == "not done: parents declined sedation"


def test_missing_procedure_data_is_named() -> None:
    finding = run_rule(RULE, jdm_child_facts(unavailable=("procedures", "imagingStudies")))
    assert finding is not None
    assert finding.gaps == (
        "The procedures could not be obtained from the EHR: this card may be incomplete.",
        "The imaging studies could not be obtained from the EHR: this card may be incomplete.",
    )


def test_juvenile_onset_now_adult_still_gets_the_card() -> None:
    # Card 8's population is juvenile onset, with no limit on current age.
    assert run_rule(RULE, jdm_child_facts(birth=date(2005, 1, 1), onset_days=10 * 365)) is not None


def test_adult_onset_is_silent() -> None:
    assert run_rule(RULE, adult_onset_facts(lab("troponin-i", 60, days=3, high=34))) is None


@pytest.mark.parametrize("positivity", [Positivity.NEGATIVE, Positivity.EQUIVOCAL])
def test_a_negative_or_equivocal_antibody_is_silent(positivity: Positivity) -> None:
    assert run_rule(RULE, jdm_child_facts(antibodies=(antibody(positivity),))) is None


def test_no_myositis_diagnosis_is_silent() -> None:
    assert run_rule(RULE, jdm_child_facts(myositis=False)) is None
