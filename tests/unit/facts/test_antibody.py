"""Anti-NXP2: found by local code or by name (with the MJ guard), and every form of positivity."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.facts.model import Positivity
from tests.unit.facts.fhir import (
    SNOMED,
    concept,
    facts_of,
    interpretation,
    nxp2,
    observation,
    quantity,
)

POS, EQ, NEG, UNR = Positivity.POSITIVE, Positivity.EQUIVOCAL, Positivity.NEGATIVE, Positivity.UNREADABLE


def only_antibody(obs: dict[str, Any]) -> Any:
    (result,) = facts_of(obs).antibodies
    return result


# --- finding the result ------------------------------------------------------------------------------


def test_the_configured_local_code_finds_a_result_without_any_text() -> None:
    obs = observation(concept("urn:nxp2-cds:local-code", "anti-nxp2"), valueString="Positive")
    assert only_antibody(obs).positivity is POS


@pytest.mark.parametrize("text", [
    "NXP2 Ab", "NXP-2 (Nuclear matrix protein-2) Ab", "Anti-NXP2 antibody", "anti NXP 2 IgG",
    "Nuclear matrix protein 2 antibody", "Nuclear Matrix Protein-2 Ab", "Anti-p140 antibody", "P140 Ab",
    "Anti-MJ antibody", "anti MJ", "MJ antibody", "MJ Ab", "MJ (Ab)", "Antibody to MJ", "Autoantibodies: MJ",
    "Anti-NXP-2 (P140) Ab",
])
def test_a_result_named_as_anti_nxp2_is_found(text: str) -> None:
    assert only_antibody(nxp2(text, valueString="Positive")).positivity is POS


@pytest.mark.parametrize("text", [
    "Anti-Mi-2 antibody", "Mi-2 alpha Ab", "MDA5 Ab", "Anti-MDA-5", "SAE1 Ab", "Anti-SAE antibody", "TIF1-gamma Ab",
    "Jo-1 Ab", "MJ", "MJ Smith panel", "Hemoglobin MJ variant", "SMJ antibody", "MJA Ab", "Nuclear matrix protein 22",
    "NMP22 bladder", "NXP20 Ab", "p1400 Ab", "Myositis panel (NXP2, Mi-2, MDA5, TIF1g)", "NXP2 / MDA5 Ab",
    "Anti-MJ/Mi-2 antibodies", "C-reactive protein",
])
def test_texts_that_do_not_name_anti_nxp2_alone_are_not_taken(text: str) -> None:
    assert facts_of(nxp2(text, valueString="Positive")).antibodies == ()


def test_a_panel_component_naming_nxp2_is_read_with_the_panel_status_and_date() -> None:
    panel = observation(
        {"text": "Myositis antibody panel"},
        component=[
            {"code": {"text": "Mi-2 alpha Ab"}, "valueString": "Negative"},
            {"code": {"text": "NXP2 Ab"}, "valueQuantity": {"value": 48}},
        ],
    )
    result = only_antibody(panel)
    assert (result.positivity, result.intensity, result.ref.reference) == (POS, 48.0, "Observation/o1")


# --- positivity: every form ---------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "expected"), [
    ("10828004", POS), ("260373001", POS), ("52101004", POS),
    ("260385009", NEG), ("260415000", NEG), ("2667000", NEG), ("82334004", EQ),
])
def test_value_codeable_concept(code: str, expected: Positivity) -> None:
    assert only_antibody(nxp2(valueCodeableConcept=concept(SNOMED, code))).positivity is expected


def test_an_unknown_coded_value_is_read_from_its_text() -> None:
    value = {"coding": [{"system": "http://lab.example.org/results", "code": "P"}], "text": "Positive"}
    assert only_antibody(nxp2(valueCodeableConcept=value)).positivity is POS


@pytest.mark.parametrize(("code", "expected"), [
    ("POS", POS), ("DET", POS), ("H", POS), ("HH", POS), ("A", POS), ("AA", POS),
    ("NEG", NEG), ("ND", NEG), ("N", NEG), ("IND", EQ), ("E", EQ),
])
def test_interpretation(code: str, expected: Positivity) -> None:
    assert only_antibody(nxp2(interpretation=interpretation(code))).positivity is expected


def test_hl7_v2_interpretation_codes_are_the_same_letters() -> None:
    flag = [concept("http://terminology.hl7.org/CodeSystem/v2-0078", "POS")]
    assert only_antibody(nxp2(interpretation=flag)).positivity is POS


@pytest.mark.parametrize(("text", "expected"), [
    ("Positive", POS), ("POSITIVE", POS), ("Strong positive", POS), ("1+", POS),
    # Weak and low positives are equivocal (issue 14: the seeds count only > 25 on the line blot).
    ("Weak positive", EQ), ("weakly positive", EQ), ("Low positive", EQ),
    ("2+", POS), ("3+", POS), ("+++", POS), ("Positive (3+)", POS), ("Detected", POS),
    ("Negative", NEG), ("negative.", NEG), ("Not detected", NEG), ("Negative, see comment", NEG),
    ("Borderline", EQ), ("borderline positive", EQ), ("Equivocal", EQ), ("Indeterminate", EQ), ("+/-", EQ),
    ("(+)", EQ),
])
def test_value_string(text: str, expected: Positivity) -> None:
    assert only_antibody(nxp2(valueString=text)).positivity is expected


@pytest.mark.parametrize(("value", "expected"), [(48, POS), (25.5, POS), (25, EQ), (11, EQ), (10, NEG), (0, NEG)])
def test_line_blot_intensity_against_the_configured_cut_off(value: float, expected: Positivity) -> None:
    # anti-nxp2.yaml: positive above 25 (seeds), equivocal above 10, in signal-intensity units (no unit).
    result = only_antibody(nxp2(valueQuantity={"value": value}))
    assert (result.positivity, result.intensity, result.usable) == (expected, float(value), True)


def test_the_cut_off_is_given_with_an_intensity_in_its_units_only() -> None:
    blot = only_antibody(nxp2(valueQuantity={"value": 18}, interpretation=interpretation("POS")))
    other = only_antibody(nxp2(valueQuantity=quantity(18, "SI", ucum=False), interpretation=interpretation("POS")))
    text = only_antibody(nxp2(valueString="Positive"))
    assert (blot.intensity_cutoff, other.intensity_cutoff, text.intensity_cutoff) == (25.0, None, None)


def test_the_reference_range_wins_over_the_configured_cut_off() -> None:
    # Quest reports NXP-2 in SI units with a reference of < 11 SI (terminology.md 1a).
    ranged = {"high": {"value": 10.9, "unit": "SI"}, "text": "<11"}
    positive = nxp2(id="a", valueQuantity=quantity(14, "SI", ucum=False), referenceRange=[ranged])
    negative = nxp2(id="b", valueQuantity=quantity(8, "SI", ucum=False), referenceRange=[ranged])
    found = {a.ref.id: a.positivity for a in facts_of(positive, negative).antibodies}
    assert found == {"a": POS, "b": NEG}


def test_the_interpretation_decides_over_the_number_and_the_number_is_kept() -> None:
    result = only_antibody(nxp2(valueQuantity={"value": 5}, interpretation=interpretation("POS")))
    assert (result.positivity, result.intensity) == (POS, 5.0)


@pytest.mark.parametrize(("value", "expected"), [(10, POS), (11, EQ), (25, EQ), (26, POS)])
def test_a_line_blot_intensity_of_11_to_25_flagged_positive_is_equivocal(value: int, expected: Positivity) -> None:
    result = only_antibody(nxp2(valueQuantity={"value": value}, interpretation=interpretation("POS")))
    assert (result.positivity, result.intensity) == (expected, float(value))


def test_a_number_in_a_unit_without_range_or_cut_off_is_unreadable() -> None:
    facts = facts_of(nxp2(valueQuantity=quantity(40, "U/mL")))
    (result,) = facts.antibodies
    assert (result.positivity, result.usable) == (UNR, False)
    assert result.problem == "no reference range or cut-off for unit 'U/mL'"
    assert [i.problem for i in facts.issues_for("anti-nxp2")] == [result.problem]


@pytest.mark.parametrize(("comparator", "value", "expected"), [("<", 5, NEG), (">", 100, POS), ("<", 50, UNR),
                                                                ("<", 20, UNR), (">", 15, UNR)])
def test_a_limit_is_read_only_when_it_cannot_be_on_the_other_side(
    comparator: str, value: float, expected: Positivity
) -> None:
    result = only_antibody(nxp2(valueQuantity={"value": value, "comparator": comparator}))
    assert result.positivity is expected


def test_value_and_interpretation_that_disagree_are_unreadable() -> None:
    result = only_antibody(nxp2(valueString="Negative", interpretation=interpretation("POS")))
    assert (result.positivity, result.usable) == (UNR, False)
    assert result.problem == "value says negative but interpretation says positive"


def test_unreadable_text_is_unreadable_with_a_data_issue() -> None:
    facts = facts_of(nxp2(id="x", valueString="see comment"))
    assert facts.antibodies[0].positivity is UNR
    assert [i.problem for i in facts.issues] == ["result text not understood ('see comment')"]


def test_no_value_at_all_is_unreadable() -> None:
    assert only_antibody(nxp2()).problem == "no readable result"


def test_method_is_kept() -> None:
    result = only_antibody(nxp2(valueString="Positive", method={"text": "Line blot (EUROLINE)"}))
    assert result.method == "Line blot (EUROLINE)"


# --- status and history -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["final", "amended", "corrected"])
def test_final_statuses_act(status: str) -> None:
    result = only_antibody(nxp2(status=status, valueString="Positive"))
    assert (result.usable, result.problem, result.status) == (True, None, status)


def test_a_preliminary_result_is_kept_for_display_but_never_usable() -> None:
    facts = facts_of(nxp2(status="preliminary", valueString="Positive"))
    (result,) = facts.antibodies
    assert (result.positivity, result.usable, result.problem) == (POS, False, "preliminary")
    assert facts.antibody_status() is None and facts.issues == ()


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled", "registered"])
def test_withdrawn_results_are_ignored(status: str) -> None:
    assert facts_of(nxp2(status=status, valueString="Positive")).antibodies == ()


def test_an_odd_status_is_kept_unusable_and_reported() -> None:
    facts = facts_of(nxp2(status="unknown", valueString="Positive"))
    assert facts.antibodies[0].usable is False
    assert [i.problem for i in facts.issues] == ["status 'unknown'"]


def test_a_later_negative_result_is_kept_and_found() -> None:
    first = nxp2(id="pos", effective="2024-01-10", valueString="Positive")
    later = nxp2(id="neg", effective="2026-02-01", valueString="Negative")
    facts = facts_of(first, later)
    assert facts.antibody_status() is POS
    assert facts.first_positive_antibody().ref.id == "pos"  # type: ignore[union-attr]
    assert facts.later_negative_antibody().ref.id == "neg"  # type: ignore[union-attr]


def test_a_result_without_a_date_is_unusable() -> None:
    facts = facts_of(nxp2(effective=None, valueString="Positive"))
    assert (facts.antibodies[0].usable, facts.antibodies[0].problem) == (False, "no date")
