"""Every fixture Bundle, posted as a CDS Hooks patient-view call through the real service.

Two checks per scenario, both at the fixed NOW with sequential ids:
- the clinical expectations of tests/scenarios/cards_*.yaml (which cards fire, with which indicator, and which
  stay silent), written by the card authors before the facts layer existed;
- the whole cards array against tests/golden/<scenario>.json, so any change in what a clinician reads shows
  up in review. After a deliberate change, regenerate with `UPDATE_GOLDEN=1 .venv/bin/pytest
  tests/api/test_scenarios.py` and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from flask import Flask

from cds_service.app import create_app
from cds_service.config import PROJECT_ROOT
from cds_service.protocol import ServiceDefinition
from cds_service.support.clock import FixedClock
from cds_service.support.ids import SequentialIds
from cds_service.tools.hook_request import build_request
from tests.conftest import NOW, TESTS, settings_for

FIXTURES = PROJECT_ROOT / "fhir_fixtures"
GOLDEN = TESTS / "golden"
URL = "/cds-services/nxp2-myositis"


def _expectations() -> dict[str, dict[str, Any]]:
    """Merge the expectation files: per scenario, the cards that fire (with indicator) and those silent."""
    merged: dict[str, dict[str, Any]] = {}
    for path in sorted((TESTS / "scenarios").glob("cards_*.yaml")):
        spec = yaml.safe_load(path.read_text())
        assert spec["now"] in ("2026-11-24T09:00:00Z",), f"{path}: scenarios must use the suite's NOW"
        for name, scenario in spec["scenarios"].items():
            entry = merged.setdefault(name, {"fires": {}, "silent": set(), "description": []})
            entry["fires"].update(scenario.get("fires") or {})
            entry["silent"].update(scenario.get("silent") or [])
            entry["description"].append(scenario["description"])
    return merged


EXPECTED = _expectations()
SCENARIOS = sorted(path.stem for path in FIXTURES.glob("*.json"))


@pytest.fixture(scope="module")
def service_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return create_app(settings_for(tmp_path_factory.mktemp("scenarios")), clock=FixedClock(NOW), ids=SequentialIds())


def _call(app: Flask, scenario: str) -> list[dict[str, Any]]:
    app.extensions["nxp2_cds"] = _with_fresh_ids(app)
    (definition,) = app.extensions["nxp2_cds"].catalogue.service_definitions()
    bundle = orjson.loads((FIXTURES / f"{scenario}.json").read_bytes())
    body = build_request(bundle, ServiceDefinition.model_validate(definition.model_dump()),
                         hook_instance=f"scenario-{scenario}")
    response = app.test_client().post(URL, data=orjson.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.json
    cards: list[dict[str, Any]] = response.json["cards"]
    return cards


def _with_fresh_ids(app: Flask) -> Any:
    """Restart the id sequence so each scenario's golden file does not depend on the ones before it."""
    import dataclasses

    return dataclasses.replace(app.extensions["nxp2_cds"], ids=SequentialIds())


def test_every_fixture_has_expectations_and_every_expectation_a_fixture() -> None:
    assert sorted(EXPECTED) == SCENARIOS


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_scenario_fires_the_expected_cards(service_app: Flask, scenario: str) -> None:
    cards = _call(service_app, scenario)
    shown = {card["source"]["topic"]["code"]: card["indicator"] for card in cards}
    expected = EXPECTED[scenario]
    assert {card: shown.get(card) for card in expected["fires"]} == expected["fires"], expected["description"]
    assert not expected["silent"] & set(shown), expected["description"]
    ranks = [{"critical": 0, "warning": 1, "info": 2}[card["indicator"]] for card in cards]
    assert ranks == sorted(ranks), "cards come most urgent first"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_whole_cards_array_matches_its_golden_copy(service_app: Flask, scenario: str) -> None:
    cards = _call(service_app, scenario)
    golden = GOLDEN / f"{scenario}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_bytes(orjson.dumps(cards, option=orjson.OPT_INDENT_2) + b"\n")
    assert golden.exists(), f"no golden copy: run UPDATE_GOLDEN=1 pytest {Path(__file__).name}"
    assert cards == orjson.loads(golden.read_bytes())
