"""Every fhir_fixtures/*.json is a valid R4 collection Bundle around one named Patient whose id is the file name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

FIXTURES = Path(__file__).resolve().parents[2] / "fhir_fixtures"
FILES = sorted(FIXTURES.glob("*.json"))


def test_there_are_fixtures() -> None:
    assert FILES


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_fixture_is_a_valid_r4_collection_with_a_named_patient(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    bundle = Bundle.model_validate(raw)
    assert bundle.type == "collection"
    patients = [e["resource"] for e in raw["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert len(patients) == 1
    assert patients[0]["id"] == path.stem
    assert patients[0]["name"][0]["given"]  # the public sandbox rejects a Patient without a given name
    subjects = {e["resource"]["subject"]["reference"] for e in raw["entry"] if "subject" in e["resource"]}
    assert subjects <= {f"Patient/{path.stem}"}
