"""Card 10 `nxp2-positive-no-myositis-diagnosis`: a positive or equivocal result and no myositis on record."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.facts.model import AntibodyResult, PatientFacts, Positivity
from tests.support.builders import (
    ADULT_BIRTH,
    Entry,
    antibody,
    antibody_result,
    data_issue,
    jdm_child_facts,
    param,
    patient_facts,
    problem,
    run_rule,
)

RULE = "nxp2-positive-no-myositis-diagnosis"
CUTOFF = param(RULE, "line_blot_cutoff").value  # 25, the seeds' EUROLINE cut-off


def without_diagnosis(*results: Entry | AntibodyResult, extra: tuple[Any, ...] = ()) -> PatientFacts:
    return jdm_child_facts(*extra, myositis=False, antibodies=results)


def test_a_positive_result_without_a_diagnosis_fires() -> None:
    result = antibody(days=40)
    finding = run_rule(RULE, without_diagnosis(result))
    assert finding is not None
    assert finding.values == {"result": "positive"}
    assert [(d.label, d.value, d.ref) for d in finding.data] == [("Anti-NXP2 antibody", "positive", result.ref)]
    assert finding.notes == () and finding.gaps == ()


def test_an_equivocal_result_is_the_only_one_that_fires_this_card_alone() -> None:
    result = antibody("equivocal", days=40, intensity=18)
    finding = run_rule(RULE, without_diagnosis(result))
    assert finding is not None
    assert finding.values == {"result": "equivocal"} and finding.notes == ("equivocal-only",)
    assert finding.data[0].value == "equivocal, line-blot intensity 18 (line blot)"


def test_the_newest_equivocal_result_is_shown() -> None:
    older, newer = antibody("equivocal", days=90), antibody("equivocal", days=10)
    finding = run_rule(RULE, without_diagnosis(older, newer))
    assert finding is not None and finding.data[0].ref == newer.ref


def test_positive_wins_over_equivocal() -> None:
    finding = run_rule(RULE, without_diagnosis(antibody("equivocal"), antibody()))
    assert finding is not None and finding.values == {"result": "positive"}


@pytest.mark.parametrize("positivity", [Positivity.NEGATIVE, Positivity.UNREADABLE])
def test_negative_or_unreadable_results_are_silent(positivity: Positivity) -> None:
    assert run_rule(RULE, without_diagnosis(antibody(positivity))) is None


def test_no_antibody_result_is_silent() -> None:
    assert run_rule(RULE, without_diagnosis()) is None


def test_a_positive_that_cannot_be_used_is_silent() -> None:
    assert run_rule(RULE, without_diagnosis(antibody(usable=False))) is None


def test_an_unusable_result_next_to_a_usable_one_is_named() -> None:
    preliminary = antibody_result(usable=False, problem_text="status preliminary")
    finding = run_rule(RULE, without_diagnosis(antibody(), preliminary))
    assert finding is not None
    assert finding.gaps == (f"Anti-NXP2 antibody result ({preliminary.ref.reference}) not used: status preliminary.",)


@pytest.mark.parametrize("status", ["active", "inactive", "resolved", "remission"])
def test_a_myositis_diagnosis_in_any_clinical_status_is_silent(status: str) -> None:
    assert run_rule(RULE, jdm_child_facts(myositis=problem("myositis", days=100, status=status))) is None


def test_adults_are_included() -> None:
    facts = patient_facts(birth=ADULT_BIRTH, antibodies=(antibody(days=170),))
    assert facts.problems == ()
    assert run_rule(RULE, facts) is not None


def test_a_later_negative_result_is_shown_and_noted() -> None:
    results = (antibody(days=200), antibody("negative", days=20))
    finding = run_rule(RULE, without_diagnosis(*results))
    assert finding is not None and finding.notes == ("later-negative-antibody",)
    assert [d.value for d in finding.data] == ["positive", "negative"]


def test_a_line_blot_at_the_cut_off_is_flagged_weak_and_above_it_is_not() -> None:
    # By hand: since issue 14 the facts layer reads a line blot at 11-25 as equivocal, so a "positive" at the
    # cut-off no longer comes from a Bundle; the rule still guards against one.
    weak = run_rule(RULE, without_diagnosis(antibody_result(intensity=CUTOFF)))
    strong = run_rule(RULE, without_diagnosis(antibody(intensity=CUTOFF + 1)))
    assert weak is not None and weak.notes == ("weak-line-blot",)
    assert strong is not None and strong.notes == ()
    assert weak.data[0].value == "positive, line-blot intensity 25 (line blot)"


def test_one_strong_line_blot_among_weak_ones_is_not_flagged() -> None:
    results = (antibody(intensity=12, days=300), antibody(intensity=60, days=20))
    finding = run_rule(RULE, without_diagnosis(*results))
    assert finding is not None and finding.notes == ()


def test_antibody_and_diagnosis_data_issues_are_named() -> None:
    facts = without_diagnosis(antibody(), extra=(data_issue("anti-nxp2", "value 'see report' unreadable"),
                                               data_issue("myositis", "Condition code not recognised")))
    finding = run_rule(RULE, facts)
    assert finding is not None and len(finding.gaps) == 2
    assert finding.gaps[0].startswith("Anti-NXP2 antibody: value 'see report' unreadable")
    assert finding.gaps[1].startswith("Myositis diagnosis: Condition code not recognised")
