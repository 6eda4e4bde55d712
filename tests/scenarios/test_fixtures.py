"""The fixtures of fhir_fixtures/: written by tests/scenarios/fixtures.py, valid R4, and matched by hand-written
expectations that the rules meet on the facts the service builds from each Bundle.

tests/api/test_scenarios.py posts the same Bundles through the real service and compares the golden cards.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from cds_service.rules import REGISTRY
from tests.scenarios.fixtures import FIXTURES, PatientRecord, fixtures, rendered_files
from tests.support.builders import (
    GOLDEN,
    NOW,
    BmiExpectation,
    catalogue,
    facts_of,
    indicator,
    load_expectations,
    run_rule,
)

RECORDS = {record.name: record for record in fixtures()}
EXPECTED = load_expectations()["scenarios"]
FILES = sorted(FIXTURES.glob("*.json"))
CARDS = catalogue().service("nxp2-myositis").rules  # type: ignore[union-attr]


def test_every_committed_fixture_is_written_by_its_record() -> None:
    stale = [path.name for path, text in rendered_files().items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    assert stale == [], "regenerate with: .venv/bin/python -m tests.scenarios.fixtures"
    assert FILES
    assert sorted(path.stem for path in FILES) == sorted(RECORDS)


def test_fixture_names_are_unique() -> None:
    assert len(RECORDS) == len(fixtures())


def test_the_expectations_name_exactly_the_fixtures_in_order() -> None:
    assert list(EXPECTED) == [record.name for record in fixtures()]
    for name, spec in EXPECTED.items():
        assert set(spec["fires"]) <= set(CARDS), name
        assert set(spec["fires"].values()) <= {"critical", "warning", "info"}, name


def test_each_card_fires_in_some_fixture_and_is_silent_in_another() -> None:
    for card in CARDS:
        assert any(card in spec["fires"] for spec in EXPECTED.values()), card
        assert any(card not in spec["fires"] for spec in EXPECTED.values()), card


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_fixture_is_a_valid_r4_collection_with_a_named_patient(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    bundle = Bundle.model_validate(raw)
    assert bundle.type == "collection"
    patients = [e["resource"] for e in raw["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert len(patients) == 1
    assert raw["entry"][0]["resource"] is patients[0]  # the Patient comes first
    assert patients[0]["id"] == path.stem
    assert len(path.stem) <= 64  # FHIR id length
    assert patients[0]["name"][0]["given"]  # the public sandbox rejects a Patient without a given name
    subjects = {e["resource"]["subject"]["reference"] for e in raw["entry"] if "subject" in e["resource"]}
    assert subjects <= {f"Patient/{path.stem}"}


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_the_rules_give_the_expected_cards_on_the_facts_of_the_bundle(name: str) -> None:
    facts = facts_of(RECORDS[name])
    fired = {}
    for card in CARDS:
        finding = run_rule(card, facts)
        if finding is not None:
            fired[card] = indicator(card, finding)
    assert fired == EXPECTED[name]["fires"], EXPECTED[name]["description"]
    assert set(CARDS) == set(REGISTRY)


BMI_CASES = [(record, bmi) for record in RECORDS.values() for bmi in record.bmis]


def bmi_for_age_z(record: PatientRecord, bmi: BmiExpectation, reference: str) -> float:
    """The BMI-for-age z-score from the rcpchgrowth LMS tables (the library the facts layer uses)."""
    from rcpchgrowth.global_functions import sds_for_measurement

    age = (bmi.measured.date() - record.birth).days / 365.25
    return float(sds_for_measurement(reference=reference, age=age, measurement_method="bmi",
                                     observation_value=bmi.value, sex=record.gender))


@pytest.mark.parametrize(("record", "bmi"), BMI_CASES, ids=[f"{r.name}-{b.value}" for r, b in BMI_CASES])
@pytest.mark.parametrize("reference", ["who", "uk-who", "cdc"])
def test_bmi_side_of_the_threshold_holds_for_every_growth_reference(
    record: PatientRecord, bmi: BmiExpectation, reference: str
) -> None:
    assert (bmi_for_age_z(record, bmi, reference) <= -2) is bmi.low_for_age


def _age_at_now(birth_date: str) -> int:
    born = date.fromisoformat(birth_date)
    return NOW.year - born.year - ((NOW.month, NOW.day) < (born.month, born.day))


def _patient_of(path: Path) -> dict[str, Any]:
    bundle = json.loads(path.read_text(encoding="utf-8"))
    patient: dict[str, Any] = next(e["resource"] for e in bundle["entry"]
                                   if e["resource"]["resourceType"] == "Patient")
    return patient


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_the_fixture_name_says_what_its_cards_and_chart_say(path: Path) -> None:
    """Issue 17 item 5: "onset 8 months" shows 8 months since onset, "age 7" is 7 today, "now 19" is 19."""
    name = path.stem
    cards_text = (GOLDEN / path.name).read_text(encoding="utf-8")
    if match := re.search(r"onset-(\d+)-months", name):
        since_onset = set(re.findall(r"(\d+) months since onset", cards_text))
        assert since_onset <= {match[1]}, since_onset
    if match := re.search(r"onset-age-(\d+)", name):
        assert f"age {match[1]} years" in cards_text or f"onset at age {match[1]}" in cards_text
    if match := re.search(r"(?<!onset-)(?:age|now)-(\d+)(?:-|$)", name):
        assert _age_at_now(_patient_of(path)["birthDate"]) == int(match[1])
