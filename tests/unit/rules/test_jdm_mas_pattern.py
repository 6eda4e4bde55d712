"""Card 7 `nxp2-jdm-mas-pattern`: the 2016 pattern with the catalogue's strict thresholds and 72 h window."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from cds_service.facts.model import LabResult
from cds_service.rules.registry import Finding
from tests.support.builders import (
    adult_onset_facts,
    antibody,
    data_issue,
    jdm_child_facts,
    lab_result,
    param,
    problem,
    rule_context,
    run_rule,
)

RULE = "nxp2-jdm-mas-pattern"
FERRITIN = param(RULE, "ferritin_above").value  # 684 ng/mL, strict
PLATELETS = param(RULE, "platelets_at_most").value  # 181 x10^9/L, inclusive
AST = param(RULE, "ast_above").value  # 48 U/L, strict
TRIGLYCERIDES = param(RULE, "triglycerides_above").value  # 156 mg/dL, strict
FIBRINOGEN = param(RULE, "fibrinogen_at_most").value  # 360 mg/dL, inclusive
FEVER = param(RULE, "fever_at_least").value  # 38.0 Cel
WINDOW_HOURS = param(RULE, "lab_window").value  # 72 h


def panel(
    *, ferritin: float = 900, platelets: float = 150, ast: float = 30, triglycerides: float = 100,
    fibrinogen: float = 300, hours: float = 10, **hours_for: float,
) -> list[LabResult]:
    """A panel 10 h old: ferritin above the threshold, platelets and fibrinogen met, AST and triglycerides not.

    `<analyte>_hours=` moves one result in time.
    """
    values = {"ferritin": ferritin, "platelets": platelets, "ast": ast, "triglycerides": triglycerides,
              "fibrinogen": fibrinogen}
    return [lab_result(concept, value, hours=hours_for.get(f"{concept}_hours", hours))
            for concept, value in values.items()]


def fired(*extra: Any, **facts_args: Any) -> Finding:
    finding = run_rule(RULE, jdm_child_facts(*extra, **facts_args))
    assert finding is not None
    return finding


def test_the_catalogue_holds_the_published_thresholds() -> None:
    assert (FERRITIN, PLATELETS, AST, TRIGLYCERIDES, FIBRINOGEN, FEVER) == (684, 181, 48, 156, 360, 38.0)
    assert rule_context(RULE).window("lab_window") == timedelta(hours=72)
    assert param(RULE, "criteria_needed").value == 2


def test_the_pattern_without_temperature_is_a_warning_that_shows_every_result() -> None:
    finding = fired(*panel())
    assert finding.escalation is None
    assert finding.values == {"ferritin": "900", "met_count": "2", "window": "72 h",
                              "met": "platelets <= 181 x10^3/uL, fibrinogen <= 360 mg/dL"}
    shown = {d.label: d.value for d in finding.data}
    assert shown["Ferritin"] == "900 ng/mL, above the MAS threshold"
    assert shown["Platelets"] == "150 x10^3/uL, meets platelets <= 181 x10^3/uL"
    assert shown["AST"] == "30 U/L, does not meet AST > 48 U/L"
    assert shown["Triglycerides"] == "100 mg/dL, does not meet triglycerides > 156 mg/dL"
    assert "Body temperature: none recorded in the 72 h window, so fever cannot be judged." in finding.gaps
    assert finding.notes == ()


def test_fever_at_the_threshold_in_the_window_makes_it_critical() -> None:
    finding = fired(*panel(), lab_result("body-temperature", FEVER, hours=30))
    assert finding.escalation == "febrile"
    assert finding.data[-1].label == "Highest body temperature in the window"
    assert not any("Body temperature" in gap for gap in finding.gaps)


def test_a_temperature_just_below_the_threshold_stays_a_warning_with_a_note() -> None:
    finding = fired(*panel(), lab_result("body-temperature", FEVER - 0.1, hours=2))
    assert (finding.escalation, finding.notes) == (None, ("afebrile",))


def test_the_highest_temperature_decides_and_is_shown() -> None:
    temperatures = (lab_result("body-temperature", 37.2, hours=1), lab_result("body-temperature", 38.4, hours=20))
    finding = fired(*panel(), *temperatures)
    assert finding.escalation == "febrile" and finding.data[-1].value == "38.4 °C"


def test_fever_outside_the_window_does_not_escalate() -> None:
    finding = fired(*panel(), lab_result("body-temperature", 39.0, hours=WINDOW_HOURS + 1))
    assert finding.escalation is None and finding.notes == ()


def test_ferritin_at_the_threshold_is_silent_and_just_above_fires() -> None:
    assert run_rule(RULE, jdm_child_facts(*panel(ferritin=FERRITIN))) is None
    assert run_rule(RULE, jdm_child_facts(*panel(ferritin=FERRITIN + 1))) is not None


@pytest.mark.parametrize(
    ("analyte", "meets", "misses"),
    [
        ("platelets", PLATELETS, PLATELETS + 1),
        ("ast", AST + 1, AST),
        ("triglycerides", TRIGLYCERIDES + 1, TRIGLYCERIDES),
        ("fibrinogen", FIBRINOGEN, FIBRINOGEN + 1),
    ],
)
def test_each_criterion_on_both_sides_of_its_threshold(analyte: str, meets: float, misses: float) -> None:
    # Start from one criterion met (platelets or fibrinogen, whichever is not under test) so the analyte decides.
    base: dict[str, float] = {"platelets": 250, "ast": 30, "triglycerides": 100, "fibrinogen": 400}
    other = "fibrinogen" if analyte == "platelets" else "platelets"
    base[other] = 150 if other == "platelets" else 300
    assert run_rule(RULE, jdm_child_facts(*panel(**base | {analyte: meets}))) is not None
    assert run_rule(RULE, jdm_child_facts(*panel(**base | {analyte: misses}))) is None


def test_one_criterion_is_not_enough_and_three_fire() -> None:
    assert run_rule(RULE, jdm_child_facts(*panel(fibrinogen=400))) is None
    assert fired(*panel(triglycerides=200)).values["met_count"] == "3"


def test_results_exactly_at_the_window_edge_count_and_a_minute_older_do_not() -> None:
    assert run_rule(RULE, jdm_child_facts(*panel(hours=WINDOW_HOURS))) is not None
    assert run_rule(RULE, jdm_child_facts(*panel(platelets_hours=WINDOW_HOURS + 1 / 60))) is None
    assert run_rule(RULE, jdm_child_facts(*panel(ferritin_hours=WINDOW_HOURS + 1 / 60))) is None


def test_a_stale_criterion_is_named_in_the_gaps() -> None:
    labs = panel(triglycerides=200, platelets_hours=80)
    finding = fired(*labs)
    assert finding.values["met_count"] == "2"
    assert finding.gaps[0] == (
        f"Platelets: last usable result 150 x10^3/uL on 2026-11-21 ({labs[1].ref.reference}), "
        "outside the 72 h window: not used."
    )


def test_ferritin_older_than_the_window_is_silent() -> None:
    assert run_rule(RULE, jdm_child_facts(*panel(ferritin=2000, ferritin_hours=WINDOW_HOURS + 1))) is None


def test_the_newest_result_of_each_analyte_decides() -> None:
    # Platelets fell to 150 a day ago and recovered to 250 this morning: no longer a criterion.
    labs = [*panel(platelets=250), lab_result("platelets", 150, hours=24)]
    assert run_rule(RULE, jdm_child_facts(*labs)) is None


def test_a_pattern_resting_on_ast_is_flagged() -> None:
    finding = fired(*panel(ast=AST + 1, fibrinogen=400))
    assert finding.notes == ("pattern-rests-on-ast",)


def test_ast_is_not_flagged_when_the_pattern_holds_without_it() -> None:
    assert fired(*panel(ast=AST + 1)).notes == ()


def test_a_result_with_an_unknown_unit_is_not_used_and_is_named() -> None:
    unreadable = lab_result("ferritin", 900, usable=False, problem_text="unit 'IU/mL' not recognised", unit="IU/mL",
                            hours=2)
    labs = panel()
    assert run_rule(RULE, jdm_child_facts(unreadable, *labs[1:])) is None
    finding = fired(unreadable, *labs)
    assert f"Ferritin on 2026-11-24 ({unreadable.ref.reference}) not used: unit 'IU/mL' not recognised." \
        in finding.gaps


def test_missing_analytes_are_named_in_the_gaps() -> None:
    labs = [x for x in panel() if x.concept not in ("ast", "triglycerides")]
    finding = fired(*labs)
    assert "AST: no usable result in the 72 h window." in finding.gaps
    assert "Triglycerides: no usable result in the 72 h window." in finding.gaps


def test_data_issues_of_the_panel_are_named() -> None:
    finding = fired(*panel(), data_issue("fibrinogen", "value 'clotted' unreadable"))
    assert any(gap.startswith("Fibrinogen: value 'clotted' unreadable") for gap in finding.gaps)


def test_a_recorded_mas_diagnosis_is_noted() -> None:
    assert fired(*panel(), problem("mas", days=2)).notes == ("mas-recorded",)


def test_adult_onset_is_silent() -> None:
    assert run_rule(RULE, adult_onset_facts(*panel(), lab_result("body-temperature", 39.0, hours=1))) is None


def test_juvenile_onset_but_now_an_adult_is_silent() -> None:
    assert run_rule(RULE, jdm_child_facts(*panel(), birth=date(2007, 6, 1), onset_days=3 * 365)) is None


@pytest.mark.parametrize("result", ["negative", "equivocal"])
def test_a_negative_or_equivocal_antibody_is_silent(result: str) -> None:
    assert run_rule(RULE, jdm_child_facts(*panel(), antibodies=(antibody(result),))) is None


def test_no_myositis_diagnosis_is_silent() -> None:
    assert run_rule(RULE, jdm_child_facts(*panel(), myositis=False)) is None
