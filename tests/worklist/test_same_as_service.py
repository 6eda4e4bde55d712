"""The worklist gives every fixture patient exactly the cards the service returns for that patient."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask

from cds_service.cli import main
from cds_service.tools.hook_request import build_request
from tests.worklist.exports import NOW_ARG, fixture_bundles, patient_of, resources_by_type, write_export


def service_cards(app: Flask, bundle: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(card id, indicator, summary) of each card the running service returns, in its order."""
    with app.test_client() as client:
        definition = client.get("/cds-services").get_json()["services"][0]
        response = client.post(f"/cds-services/{definition['id']}", json=build_request(bundle, _definition(definition)))
    assert response.status_code == 200, response.get_data(as_text=True)
    return [(c["source"]["topic"]["code"], c["indicator"], c["summary"]) for c in response.get_json()["cards"]]


def _definition(raw: dict[str, Any]) -> Any:
    from cds_service.protocol import ServiceDefinition

    return ServiceDefinition.model_validate(raw)


def worklist(tmp_path: Path, export: Path) -> dict[str, Any]:
    out = tmp_path / "out"
    code = main(["worklist", "--ndjson", str(export), "--out", str(out), "--now", NOW_ARG, "--quiet"])
    assert code == 0
    document: dict[str, Any] = orjson.loads((out / "worklist.json").read_bytes())
    return document


@pytest.mark.parametrize("parts", [1, 3])
def test_every_fixture_patient_gets_the_services_cards(real_app: Flask, tmp_path: Path, parts: int) -> None:
    bundles = fixture_bundles()
    export = write_export(tmp_path / "export", resources_by_type(bundles), parts=parts)
    document = worklist(tmp_path, export)
    rows: dict[str, list[tuple[str, str, str]]] = {}
    for row in document["rows"]:
        assert row["status"] == "card due", row
        rows.setdefault(row["patient_id"], []).append((row["card_id"], row["indicator"], row["summary"]))
    assert document["problems"] == []
    with_cards = 0
    for name, bundle in bundles.items():
        expected = service_cards(real_app, bundle)
        # Rows are sorted by urgency across patients; per patient the set of cards must be the same.
        assert sorted(rows.get(patient_of(bundle), [])) == sorted(expected), name
        with_cards += bool(expected)
    assert with_cards >= 50  # the fixtures are mostly positive patients: the comparison is not vacuous
    assert len(rows) == with_cards  # no row for a patient with no card


def test_rows_carry_name_age_and_the_deciding_fact(tmp_path: Path) -> None:
    bundles = {k: v for k, v in fixture_bundles().items() if k == "jdm-nxp2-mas-ast-49"}
    document = worklist(tmp_path, write_export(tmp_path / "export", resources_by_type(bundles)))
    (row,) = [r for r in document["rows"] if r["card_id"] == "nxp2-jdm-mas-pattern"]
    patient = next(e["resource"] for e in bundles["jdm-nxp2-mas-ast-49"]["entry"]
                   if e["resource"]["resourceType"] == "Patient")
    assert row["patient_id"] == patient["id"]
    assert row["name"] and row["name"].split()[-1] == patient["name"][0]["family"]
    assert row["age"].isdigit() and int(row["age"]) < 18
    assert row["deciding_fact"] and row["deciding_date"][:4] == "2026"
