"""Charts as real EHRs code them (issue 14): ICD-10-CM hierarchy, specific SNOMED CT concepts, local codes with
text, Conditions named but not used, juvenile onset by code, approximate onset, weak positives."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cds_service.facts import icd10cm
from cds_service.facts.valuesets import ICD10CM, SNOMED, ValueSetError, load_valuesets
from tests.unit.facts.conftest import edit
from tests.unit.facts.fhir import VALUESETS, concept, condition, facts_of, nxp2, patient

LOCAL = "urn:oid:1.2.3.4.5"


@pytest.mark.parametrize(("code", "expected"), [
    ("C50.911", ("malignancy",)),  # breast, by hierarchy (C00-C96)
    ("C4A.9", ("malignancy",)),  # Merkel cell: a category outside the plain C00-C96 digits
    ("C96.9", ("malignancy",)),
    ("D05.10", ()),  # in situ: not active cancer
    ("D36.9", ()),  # benign
    ("D48.9", ()),  # uncertain behaviour
    ("Z85.3", ("malignancy-history",)),
    ("M33.03", ("myositis", "juvenile-dermatomyositis")),
    ("M33.12", ("myositis",)),
    ("M36.0", ("myositis",)),  # dermatomyositis in neoplastic disease
])
def test_icd_10_cm_codes_are_read_by_hierarchy(code: str, expected: tuple[str, ...]) -> None:
    assert sorted(VALUESETS.lookup(ICD10CM, code)) == sorted(expected)


@pytest.mark.parametrize("code", ["254837009", "93761005", "254637007", "363443007", "67841000119103"])
def test_specific_snomed_cancers_are_malignancy(code: str) -> None:
    assert VALUESETS.lookup(SNOMED, code) == ("malignancy",)


def test_an_unknown_descendants_code_stops_start_up(valueset_copy: Path) -> None:
    edit(valueset_copy, "myositis", 'code: "M33"', 'code: "M33.7"')
    with pytest.raises(ValueSetError, match=r"myositis.yaml: field descendants: 'M33.7' is not a code or block of"):
        load_valuesets(valueset_copy)


def test_the_expansion_is_cached_and_the_edition_named(tmp_path: Path) -> None:
    first = icd10cm.expand(["M33"], tmp_path)
    assert [p.name.startswith("icd10cm-") for p in tmp_path.iterdir()] == [True]
    assert icd10cm.expand(["M33"], tmp_path) == first
    assert "M33.03" in first["M33"]
    assert icd10cm.edition().startswith("ICD-10-CM April 1, 2026")


@pytest.mark.parametrize(("text", "concepts"), [
    ("Juvenile dermatomyositis", ["juvenile-dermatomyositis", "myositis"]),
    ("Amyopathic dermatomyositis", ["myositis"]),
    ("Idiopathic inflammatory myopathy", ["myositis"]),
    ("Ovarian carcinoma", ["malignancy"]),
    ("History of breast cancer", ["malignancy-history"]),
])
def test_a_local_code_is_recognised_by_its_text(text: str, concepts: list[str]) -> None:
    facts = facts_of(condition(concept(LOCAL, "X1", text=text)))
    assert sorted(p.concept for p in facts.problems) == concepts
    assert {p.recognised_from_text for p in facts.problems} == {text}


@pytest.mark.parametrize(("text", "concept_name"), [
    ("Family history of colon cancer", "malignancy"),
    ("Benign neoplasm of colon", None),
    ("Suspected dermatomyositis", "myositis"),
    ("Dermatomyositis ruled out", "myositis"),
    ("No evidence of malignancy", "malignancy"),
    ("Inclusion body myositis", "myositis"),
    ("Cancer screening", "malignancy"),
])
def test_excluded_texts_are_not_diagnoses_and_say_why(text: str, concept_name: str | None) -> None:
    facts = facts_of(condition(concept(LOCAL, "X1", text=text)))
    assert facts.problems == ()
    issues = [(i.concept, i.problem) for i in facts.issues]
    if concept_name is None:
        assert issues == []
    else:
        assert issues == [(concept_name, f"the text '{text}' does not state a current diagnosis: not used")]


def test_a_refuted_myositis_diagnosis_is_listed_as_not_used() -> None:
    facts = facts_of(condition(concept(SNOMED, "396230008", "Dermatomyositis"), verification="refuted"))
    assert facts.problems == ()
    assert [(i.concept, i.problem) for i in facts.issues] == [("myositis", "verification status refuted: not used")]


def test_a_coded_condition_is_not_read_by_its_text() -> None:
    facts = facts_of(condition(concept(SNOMED, "396230008", "Dermatomyositis", text="history of cancer")))
    assert [(p.concept, p.recognised_from_text) for p in facts.problems] == [("myositis", "")]


def test_juvenile_dermatomyositis_coded_means_juvenile_onset_whatever_the_dates() -> None:
    adult = patient(birth="2000-01-01")
    coded = facts_of(condition(concept(ICD10CM, "M33.02"), onsetDateTime="2021-01-01"), person=adult)
    assert coded.onset_age() is not None and coded.onset_age() > 18
    assert coded.is_juvenile_onset() is True
    plain = facts_of(condition(concept(SNOMED, "396230008"), onsetDateTime="2021-01-01"), person=adult)
    assert plain.is_juvenile_onset() is False


def test_without_a_stated_onset_the_earliest_sign_is_the_approximate_onset() -> None:
    dm = condition(concept(SNOMED, "396230008"), recordedDate="2026-10-20")
    antibody = nxp2(valueString="Positive", effectiveDateTime="2019-03-01")
    facts = facts_of(dm, antibody)
    assert facts.onset is not None
    assert (facts.onset.when, facts.onset.approximate) == (datetime(2019, 3, 1, tzinfo=UTC), True)
    assert facts.onset.source == "first anti-NXP2 result"


def test_a_myositis_finding_before_the_record_bounds_the_onset() -> None:
    dm = condition(concept(SNOMED, "396230008"), recordedDate="2026-10-20")
    dysphagia = condition(concept(SNOMED, "40739000", "Dysphagia"), id="c2", onsetDateTime="2025-06-01")
    facts = facts_of(dm, dysphagia)
    assert facts.onset is not None
    assert (facts.onset.when, facts.onset.source) == (datetime(2025, 6, 1, tzinfo=UTC), "first record of Dysphagia")


def test_a_stated_onset_is_kept() -> None:
    dm = condition(concept(SNOMED, "396230008"), onsetDateTime="2026-06-01", recordedDate="2026-10-20")
    facts = facts_of(dm, nxp2(valueString="Positive", effectiveDateTime="2019-03-01"))
    assert facts.onset is not None
    assert (facts.onset.when, facts.onset.approximate) == (datetime(2026, 6, 1, tzinfo=UTC), False)
