"""Every fixture Bundle, posted as a CDS Hooks patient-view call through the real service.

Two checks per scenario, both at the fixed NOW with sequential ids:
- the clinical expectations of tests/golden/expectations.yaml (which cards fire, with which indicator; every
  other card stays silent), written by hand;
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
from flask import Flask

from cds_service.app import create_app
from cds_service.config import PROJECT_ROOT
from cds_service.protocol import ServiceDefinition
from cds_service.support.clock import FixedClock
from cds_service.support.ids import SequentialIds
from cds_service.tools.hook_request import build_request
from tests.conftest import settings_for
from tests.support.builders import GOLDEN, NOW, load_expectations

FIXTURES = PROJECT_ROOT / "fhir_fixtures"
URL = "/cds-services/nxp2-myositis"


EXPECTED: dict[str, dict[str, Any]] = load_expectations()["scenarios"]
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
    assert shown == expected["fires"], expected["description"]  # every card not in `fires` stays silent
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
