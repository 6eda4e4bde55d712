"""Numeric results: statuses, unreadable values, reference ranges, titres."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.facts.fhir import LOINC, NOW, concept, facts_of, lab, observation, quantity


def only_lab(obs: dict[str, Any]) -> Any:
    (result,) = facts_of(obs).labs
    return result


@pytest.mark.parametrize("status", ["final", "amended", "corrected"])
def test_final_statuses_are_usable(status: str) -> None:
    result = only_lab(lab("2276-4", 812, "ng/mL", status=status))
    assert (result.value, result.usable, result.status) == (812.0, True, status)


def test_preliminary_is_kept_with_its_value_but_not_usable_and_not_an_issue() -> None:
    facts = facts_of(lab("2276-4", 812, "ng/mL", status="preliminary"))
    (result,) = facts.labs
    assert (result.value, result.usable, result.problem) == (812.0, False, "preliminary")
    assert facts.unusable("ferritin") == (result,)
    assert facts.latest("ferritin", NOW, NOW - result.effective) is None
    assert facts.issues == ()


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled", "registered"])
def test_withdrawn_results_are_ignored(status: str) -> None:
    assert facts_of(lab("2276-4", 812, "ng/mL", status=status)).labs == ()


@pytest.mark.parametrize(("comparator", "shown"), [("<", "<5 ng/L"), (">", ">1500 ng/L"), ("<=", "<=5 ng/L")])
def test_a_value_reported_as_a_limit_is_unusable_and_shown(comparator: str, shown: str) -> None:
    value = 5 if comparator.startswith("<") else 1500
    facts = facts_of(observation(concept(LOINC, "89579-7"), valueQuantity=quantity(value, "ng/L",
                                                                                     comparator=comparator)))
    (result,) = facts.labs
    assert (result.value, result.usable, result.display_value) == (None, False, shown)
    assert result.problem == f"value reported as a limit ({comparator}{value})"
    assert [i.problem for i in facts.issues_for("troponin-i")] == [result.problem]


def test_a_limit_in_a_string_is_unusable() -> None:
    result = only_lab(observation(concept(LOINC, "89579-7"), valueString="<5"))
    assert (result.value, result.problem, result.display_value) == (None, "value reported as a limit (<5)", "<5")


def test_a_quantity_without_a_number_is_unusable() -> None:
    result = only_lab(observation(concept(LOINC, "2157-6"), valueQuantity=quantity(None, "U/L")))
    assert (result.value, result.usable, result.problem) == (None, False, "no numeric value")


def test_text_instead_of_a_number_is_unusable() -> None:
    result = only_lab(observation(concept(LOINC, "2157-6"), valueString="haemolysed"))
    assert result.problem == "value is text, not a number with a unit ('haemolysed')"


def test_a_data_absent_reason_is_reported() -> None:
    reason = concept("http://terminology.hl7.org/CodeSystem/data-absent-reason", "error", "Error")
    result = only_lab(observation(concept(LOINC, "2157-6"), dataAbsentReason=reason))
    assert result.problem == "no value (Error)"


def test_a_result_without_a_date_is_unusable() -> None:
    result = only_lab(lab("2157-6", 4000, "U/L", effective=None))
    assert (result.value, result.usable, result.problem) == (None, False, "no date")


def test_the_reference_range_is_converted_with_the_value() -> None:
    ranged = [{"low": quantity(2.5, "ukat/L"), "high": quantity(3.2, "ukat/L")}]
    result = only_lab(observation(concept(LOINC, "2157-6"), valueQuantity=quantity(6.4, "ukat/L"),
                                  referenceRange=ranged))
    assert (result.value, result.reference_low, result.reference_high) == pytest.approx((384.0, 150.0, 192.0))


def test_a_reference_range_without_units_uses_the_value_unit() -> None:
    result = only_lab(observation(concept(LOINC, "10839-9"), valueQuantity=quantity(0.09, "ng/mL"),
                                  referenceRange=[{"high": {"value": 0.04}}]))
    assert (result.value, result.reference_high) == pytest.approx((90.0, 40.0))


@pytest.mark.parametrize("value", [{"valueString": "1:160"}, {"valueString": " 1 : 160 "},
                                   {"valueRatio": {"numerator": {"value": 1}, "denominator": {"value": 160}}},
                                   {"valueQuantity": {"value": 160, "unit": "{titer}"}}])
def test_ana_titres_in_every_form_are_n(value: dict[str, Any]) -> None:
    result = only_lab(observation(concept(LOINC, "5048-4"), **value))
    assert (result.concept, result.value, result.unit, result.usable) == ("ana", 160.0, "{titer}", True)


def test_the_loinc_oid_is_the_same_system() -> None:
    code = concept("urn:oid:2.16.840.1.113883.6.1", "2157-6")
    assert only_lab(observation(code, valueQuantity=quantity(300, "U/L"))).concept == "ck"


def test_results_of_unrelated_codes_are_not_facts() -> None:
    assert facts_of(lab("2951-2", 140, "mmol/L")).labs == ()  # sodium


def test_results_built_on_the_hot_path_are_ordinary_frozen_lab_results() -> None:
    import dataclasses

    from cds_service.facts.model import LabResult

    result = only_lab(lab("2276-4", 812, "ng/mL", id="f1"))
    same = LabResult(
        concept="ferritin", value=812.0, unit="ng/mL", effective=result.effective, status="final", ref=result.ref,
        usable=True, problem=None, reference_low=None, reference_high=None, display_value="812 ng/mL",
    )
    assert type(result) is LabResult and result == same and hash(result) == hash(same)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.value = 1.0  # type: ignore[misc]
