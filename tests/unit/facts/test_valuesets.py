"""The value-set files: complete, marked, and a bad file stops start-up naming the file and field."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from cds_service.app import build_services
from cds_service.config import Settings
from cds_service.facts.valuesets import CONCEPT_NAMES, CPT, ICD10CM, SNOMED, ValueSetError, load_valuesets
from tests.rules_for_tests import TEST_REGISTRY
from tests.unit.facts.conftest import edit
from tests.unit.facts.fhir import VALUESETS, VALUESETS_DIR


def test_every_concept_name_of_the_guide_has_a_file_and_no_other_file_exists() -> None:
    assert {path.stem for path in VALUESETS_DIR.glob("*.yaml")} == CONCEPT_NAMES


@pytest.mark.parametrize(("system", "code", "status"), [
    (SNOMED, "169069000", "confirmed"), (SNOMED, "1148701004", "confirmed"), (SNOMED, "23426006", "confirmed"),
    (SNOMED, "127783003", "confirmed"), (SNOMED, "29303009", "confirmed"), (SNOMED, "40701008", "confirmed"),
    (SNOMED, "303662009", "confirmed"), (SNOMED, "2901004", "unconfirmed"), (SNOMED, "55929007", "unconfirmed"),
    ("http://loinc.org", "8310-5", "confirmed"), ("http://loinc.org", "54218-3", "confirmed"),
    ("http://loinc.org", "2335-8", "unconfirmed"), (CPT, "74177", "unconfirmed"), (CPT, "71250", "confirmed"),
    (ICD10CM, "M33.03", "confirmed"), (ICD10CM, "M33.13", "unconfirmed"),
])
def test_codes_are_marked_as_terminology_and_verification_say(system: str, code: str, status: str) -> None:
    found = [e.status for f in VALUESETS.files.values() for e in f.codes if (e.system, e.code) == (system, code)]
    assert found and set(found) == {status}


def test_every_cpt_code_carries_the_licence_mark_and_can_be_dropped() -> None:
    cpt = [e for f in VALUESETS.files.values() for e in f.codes if e.system == CPT]
    assert cpt and all(e.licence == "AMA CPT" for e in cpt)
    without = load_valuesets(VALUESETS_DIR, drop_licensed=True)
    assert VALUESETS.lookup(CPT, "78815") == ("pet-ct",)
    assert without.lookup(CPT, "78815") == ()
    assert without.lookup(SNOMED, "169069000") == ("ct-chest",)


def test_unconfirmed_codes_are_listed_for_the_start_up_log() -> None:
    assert (("dysphonia", SNOMED, "55929007") in VALUESETS.unconfirmed())


def _fails(folder: Path, pattern: str) -> None:
    with pytest.raises(ValueSetError, match=pattern):
        load_valuesets(folder)


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    _fails(tmp_path / "nowhere", r"nowhere: value-set folder is missing")


def test_a_missing_concept_file_is_named(valueset_copy: Path) -> None:
    (valueset_copy / "ferritin.yaml").unlink()
    _fails(valueset_copy, r"no value-set file for concept 'ferritin' \(ferritin.yaml\)")


def test_an_unknown_concept_file_is_refused(valueset_copy: Path) -> None:
    (valueset_copy / "ferritin.yaml").rename(valueset_copy / "ferritine.yaml")
    _fails(valueset_copy, r"ferritine.yaml: field concept: 'ferritin' must match the file name 'ferritine'")


def test_invalid_yaml_is_named(valueset_copy: Path) -> None:
    (valueset_copy / "ck.yaml").write_text("concept: [ck\n", encoding="utf-8")
    _fails(valueset_copy, r"ck.yaml: cannot be read as YAML")


@pytest.mark.parametrize(("name", "old", "new", "message"), [
    ("ck", "    status: confirmed", "    status: probably", r"ck.yaml: field codes.0.status: Input should be"),
    ("ck", "    display:", "    displayy:", r"ck.yaml: field codes.0.display: Field required"),
    ("ck", 'unit: "U/L"', 'unit: "U/mL"',
     r"ck.yaml: field unit: 'U/mL' is not a unit facts/units.py converts ck to unchanged"),
    ("ck", "kind: lab", "kind: problem", r"ck.yaml: field kind: 'ck' is a lab, not a problem"),
    ("ck", 'unit: "U/L"', "", r"ck.yaml: field unit: a lab concept states its canonical unit"),
    ("myositis", "kind: problem", "kind: lab", r"myositis.yaml: field kind: facts/units.py has no unit table"),
    ("anti-nxp2", r"'\bp140\b'", r"'\bp140(\b'", r"anti-nxp2.yaml: field text.include: Value error, not a valid"),
    ("anti-nxp2", "positive_above: 25", "positive_above: lots", r"anti-nxp2.yaml: field cutoffs.positive_above"),
    ("bmi", "pair_within_days: 90", "pair_within_days: 0", r"bmi.yaml: field growth.pair_within_days"),
    ("bmi", "z_reference: who", "z_reference: uk90", r"bmi.yaml: field growth.z_reference"),
    ("ct-chest", 'code: "303662009"', 'code: "169069000"',
     r"ct-chest.yaml: field codes.1: '169069000' is listed twice"),
    ("ferritin", 'code: "2276-4"', 'code: "2157-6"', r"only problem and test concepts may share a code"),
])
def test_a_bad_field_is_named_with_its_file(valueset_copy: Path, name: str, old: str, new: str, message: str) -> None:
    edit(valueset_copy, name, old, new)
    _fails(valueset_copy, message)


def test_a_bad_value_set_stops_start_up(tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(Path(__file__).resolve().parents[2] / "catalogue_for_tests", catalogue)  # follows the link
    edit(catalogue / "valuesets", "ck", "    status: confirmed", "    status: maybe")
    settings = Settings(mode="development", data_dir=tmp_path / "var", catalogue_dir=catalogue)
    with pytest.raises(ValueSetError, match=re.escape(f"{catalogue / 'valuesets' / 'ck.yaml'}: field codes.0.status")):
        build_services(settings, registry=TEST_REGISTRY)
