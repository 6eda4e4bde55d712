"""Card 9 `nxp2-jdm-refractory-risk`: two of six S3 features, within 24 months of onset, with the catalogue's cuts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cds_service.facts.model import Positivity, Problem
from tests.support.builders import (
    adult_onset_facts,
    antibody,
    data_issue,
    jdm_child_facts,
    lab,
    lab_result,
    param,
    problem,
    rule_context,
    run_rule,
)

RULE = "nxp2-jdm-refractory-risk"
FERRITIN = param(RULE, "ferritin_above").value  # 200 ng/mL, strict
RATIO = param(RULE, "cd4_cd8_below").value  # 1.4, strict
STRENGTH = param(RULE, "strength_at_most").value  # MRC grade 3, inclusive
CMAS = param(RULE, "cmas_below").value  # 15, strict
LAB_DAYS = param(RULE, "lab_window").value  # 180 d
SCORE_DAYS = param(RULE, "score_window").value  # 90 d
ONSET_WINDOW = rule_context(RULE).window("onset_window")  # 24 months = 730 days


def oedema() -> Problem:
    return problem("oedema", days=20, display="Periorbital oedema")


def test_the_catalogue_holds_the_seed_thresholds() -> None:
    assert (FERRITIN, RATIO, STRENGTH, CMAS, LAB_DAYS, SCORE_DAYS) == (200, 1.4, 3, 15, 180, 90)
    assert (ONSET_WINDOW.days, param(RULE, "features_needed").value) == (730, 2)


def test_oedema_and_skin_ulcer_fire_and_show_their_records() -> None:
    ulcer = problem("skin-ulcer", days=10, display="Skin ulcer, elbow")
    finding = run_rule(RULE, jdm_child_facts(oedema(), ulcer))
    assert finding is not None
    assert finding.values == {"count": "2", "features": "oedema, skin ulcer"}
    assert finding.data[-1].ref == ulcer.ref and finding.data[-1].value == "Skin ulcer, elbow (active)"


def test_one_feature_is_not_enough() -> None:
    assert run_rule(RULE, jdm_child_facts(oedema())) is None


def test_a_resolved_feature_does_not_count() -> None:
    assert run_rule(RULE, jdm_child_facts(oedema(), problem("skin-ulcer", days=100, status="resolved"))) is None


def test_ferritin_on_both_sides_of_its_threshold() -> None:
    assert run_rule(RULE, jdm_child_facts(oedema(), lab("ferritin", FERRITIN, days=30))) is None
    assert run_rule(RULE, jdm_child_facts(oedema(), lab("ferritin", FERRITIN + 1, days=30))) is not None


def test_cd4_cd8_ratio_on_both_sides_of_its_threshold() -> None:
    assert run_rule(RULE, jdm_child_facts(oedema(), lab("cd4-cd8-ratio", RATIO, days=30))) is None
    assert run_rule(RULE, jdm_child_facts(oedema(), lab("cd4-cd8-ratio", RATIO - 0.01, days=30))) is not None


def test_the_two_lab_features_together_fire() -> None:
    finding = run_rule(RULE, jdm_child_facts(lab("ferritin", 350, days=30), lab("cd4-cd8-ratio", 1.1, days=30)))
    assert finding is not None and finding.values["features"] == "low CD4/CD8 ratio, raised ferritin"


def test_proximal_strength_on_both_sides_of_its_threshold() -> None:
    assert run_rule(RULE, jdm_child_facts(oedema(), lab("proximal-strength", STRENGTH, days=10))) is not None
    assert run_rule(RULE, jdm_child_facts(oedema(), lab("proximal-strength", STRENGTH + 1, days=10))) is None


def test_cmas_on_both_sides_of_its_threshold() -> None:
    assert run_rule(RULE, jdm_child_facts(oedema(), lab("cmas", CMAS - 1, days=10))) is not None
    assert run_rule(RULE, jdm_child_facts(oedema(), lab("cmas", CMAS, days=10))) is None


def test_weak_strength_and_low_cmas_are_one_feature() -> None:
    facts = jdm_child_facts(lab("proximal-strength", 2, days=10), lab("cmas", 5, days=10))
    assert run_rule(RULE, facts) is None


def test_dysphagia_and_hoarseness_are_one_feature() -> None:
    assert run_rule(RULE, jdm_child_facts(problem("dysphagia", days=5), problem("dysphonia", days=5))) is None
    finding = run_rule(RULE, jdm_child_facts(oedema(), problem("dysphonia", days=5, display="Hoarseness")))
    assert finding is not None and finding.values["features"] == "oedema, dysphagia or dysphonia"


def test_labs_count_up_to_the_last_day_of_their_window() -> None:
    assert run_rule(RULE, jdm_child_facts(oedema(), lab("ferritin", 350, days=LAB_DAYS))) is not None
    stale = lab("ferritin", 350, days=LAB_DAYS + 1)
    assert run_rule(RULE, jdm_child_facts(oedema(), stale)) is None
    finding = run_rule(RULE, jdm_child_facts(oedema(), stale, problem("skin-ulcer", days=3)))
    assert finding is not None
    assert f"Ferritin: last usable result 350 ng/mL on 2026-05-27 ({stale.ref.reference}), outside the " \
           "180 days window: not used." in finding.gaps


def test_scores_count_only_within_their_window() -> None:
    assert run_rule(RULE, jdm_child_facts(oedema(), lab("cmas", 5, days=SCORE_DAYS))) is not None
    assert run_rule(RULE, jdm_child_facts(oedema(), lab("cmas", 5, days=SCORE_DAYS + 1))) is None


def test_the_newest_lab_result_decides() -> None:
    facts = jdm_child_facts(oedema(), lab("ferritin", 500, days=100), lab("ferritin", 150, days=10))
    assert run_rule(RULE, facts) is None


def test_onset_exactly_24_months_ago_fires_and_a_day_later_does_not() -> None:
    days = ONSET_WINDOW / timedelta(days=1)
    assert run_rule(RULE, jdm_child_facts(oedema(), problem("skin-ulcer", days=3), onset_days=days)) is not None
    assert run_rule(RULE, jdm_child_facts(oedema(), problem("skin-ulcer", days=3), onset_days=days + 1)) is None


def test_unusable_results_and_data_issues_are_named() -> None:
    unreadable = lab_result("cd4-cd8-ratio", 0.9, days=5, usable=False, problem_text="unit 'cells' not recognised")
    finding = run_rule(RULE, jdm_child_facts(oedema(), problem("skin-ulcer", days=3), unreadable,
                                  data_issue("oedema", "Condition code not recognised")))
    assert finding is not None and finding.values["count"] == "2"
    assert f"CD4/CD8 ratio on 2026-11-19 ({unreadable.ref.reference}) not used: unit 'cells' not recognised." \
        in finding.gaps
    assert any(gap.startswith("Oedema: Condition code not recognised") for gap in finding.gaps)


def test_adult_onset_is_silent() -> None:
    assert run_rule(RULE, adult_onset_facts(oedema(), problem("skin-ulcer", days=3))) is None


@pytest.mark.parametrize("positivity", [Positivity.NEGATIVE, Positivity.EQUIVOCAL])
def test_a_negative_or_equivocal_antibody_is_silent(positivity: Positivity) -> None:
    facts = jdm_child_facts(oedema(), problem("skin-ulcer", days=3), antibodies=(antibody(positivity),))
    assert run_rule(RULE, facts) is None


def test_no_myositis_diagnosis_is_silent() -> None:
    assert run_rule(RULE, jdm_child_facts(oedema(), problem("skin-ulcer", days=3), myositis=False)) is None
