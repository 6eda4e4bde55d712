"""The cards-a fixtures: committed Bundles match their scenarios, and the rules give the expected cards.

The API runner posts the Bundles once the facts layer exists; until then these tests run the rules on
the facts each scenario should produce, so the expectations in cards_a.yaml are checked against the rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cds_service.rules import REGISTRY
from tests.scenarios.cards_a_fixtures import FIXTURES, NOW, SCENARIOS, Scenario, bmi_for_age_z, bundle, facts, render
from tests.unit.rules.factories import catalogue, context

EXPECTED: dict[str, Any] = yaml.safe_load((Path(__file__).parent / "cards_a.yaml").read_text(encoding="utf-8"))
BY_STEM = {scenario.stem: scenario for scenario in SCENARIOS}
STEMS = sorted(BY_STEM)


def test_expectations_name_exactly_the_scenarios() -> None:
    assert sorted(EXPECTED["scenarios"]) == STEMS
    assert len(SCENARIOS) == len(BY_STEM)
    assert EXPECTED["now"] == NOW.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("stem", STEMS)
def test_committed_bundle_matches_its_scenario(stem: str) -> None:
    path = FIXTURES / f"{stem}.json"
    assert path.read_text(encoding="utf-8") == render(BY_STEM[stem]), (
        "regenerate with: .venv/bin/python -m tests.scenarios.cards_a_fixtures"
    )


@pytest.mark.parametrize("stem", STEMS)
def test_patient_is_named_after_the_file(stem: str) -> None:
    patient = bundle(BY_STEM[stem])["entry"][0]["resource"]
    assert patient["resourceType"] == "Patient"
    assert patient["id"] == stem
    assert len(stem) <= 64  # FHIR id length
    assert patient["name"][0]["given"]


@pytest.mark.parametrize("stem", STEMS)
def test_expectation_covers_each_of_our_cards_once(stem: str) -> None:
    expected = EXPECTED["scenarios"][stem]
    assert expected["description"].strip()
    fires, silent = set(expected["fires"]), set(expected["silent"])
    assert not fires & silent
    assert fires | silent == set(EXPECTED["cards"])


@pytest.mark.parametrize("stem", STEMS)
def test_rules_give_the_expected_cards(stem: str) -> None:
    patient = facts(BY_STEM[stem])
    fired: dict[str, str] = {}
    for card_id in EXPECTED["cards"]:
        finding = REGISTRY[card_id].function(patient, context(card_id))
        if finding is not None:
            entry = catalogue().rules[card_id]
            escalation = entry.escalations.get(finding.escalation or "")
            fired[card_id] = escalation.indicator if escalation else entry.card.indicator
    assert fired == EXPECTED["scenarios"][stem]["fires"]


BMI_CASES = [(s, i) for s in SCENARIOS for i in range(len(s.bmis))]


@pytest.mark.parametrize(("scenario", "index"), BMI_CASES, ids=[f"{s.stem}-{i}" for s, i in BMI_CASES])
@pytest.mark.parametrize("reference", ["who", "uk-who", "cdc"])
def test_bmi_side_of_the_threshold_holds_for_every_growth_reference(
    scenario: Scenario, index: int, reference: str
) -> None:
    bmi = scenario.bmis[index]
    assert (bmi_for_age_z(scenario, bmi, reference) <= -2) is bmi.low_for_age
