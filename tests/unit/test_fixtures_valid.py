"""Every fixture Bundle in fhir_fixtures/ is valid FHIR R4 (fhir.resources R4B)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

FIXTURES = sorted((Path(__file__).resolve().parents[2] / "fhir_fixtures").glob("*.json"))


def test_there_are_fixtures() -> None:
    assert FIXTURES


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: path.stem)
def test_fixture_is_a_valid_r4_bundle(path: Path) -> None:
    bundle = Bundle.model_validate(json.loads(path.read_text(encoding="utf-8")))
    assert bundle.type == "collection"
