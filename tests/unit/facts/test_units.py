"""Every unit conversion of terminology.md section 4a, read through build_facts, and the fail-closed path."""

from __future__ import annotations

import pytest

from cds_service.facts import units
from tests.unit.facts.fhir import LOINC, VALUESETS, concept, facts_of, lab, observation, quantity

# (concept, LOINC, value sent, unit sent, expected canonical value): terminology.md 4a test values included.
CONVERSIONS = [
    ("ck", "2157-6", 3.2, "ukat/L", 192.0),  # 4a: 3.2 ukat/L = 192 U/L
    ("ck", "2157-6", 3.2, "µkat/L", 192.0),
    ("ck", "2157-6", 5000, "nkat/L", 300.0),
    ("ck", "2157-6", 250, "U/L", 250.0),
    ("ck", "2157-6", 250, "IU/L", 250.0),
    ("ck", "2157-6", 250, "[IU]/L", 250.0),
    ("ck", "2157-6", 250, "units/L", 250.0),
    ("ast", "1920-8", 0.8, "ukat/L", 48.0),  # verification.md 3.2: AST > 48 U/L = > 0.80 microkat/L
    ("ferritin", "2276-4", 1000, "pmol/L", 445.0),  # 4a: 1000 pmol/L ferritin = 445 ng/mL
    ("ferritin", "2276-4", 700, "ug/L", 700.0),
    ("ferritin", "2276-4", 700, "µg/L", 700.0),
    ("ferritin", "2276-4", 700, "mcg/L", 700.0),
    ("ferritin", "2276-4", 700, "ng/mL", 700.0),
    ("platelets", "777-3", 250, "x10E3/uL", 250.0),  # 4a: 250 x10E3/uL = 250 10*3/uL
    ("platelets", "777-3", 181, "10*9/L", 181.0),
    ("platelets", "777-3", 181, "10^9/L", 181.0),
    ("platelets", "777-3", 181, "K/uL", 181.0),
    ("platelets", "777-3", 181, "K/mcL", 181.0),
    ("platelets", "777-3", 181, "thou/uL", 181.0),
    ("platelets", "777-3", 181000, "/uL", 181.0),  # /uL divided by 1000
    ("platelets", "777-3", 181000, "/mm3", 181.0),
    ("platelets", "777-3", 181000, "{cells}/uL", 181.0),
    ("triglycerides", "2571-8", 2.0, "mmol/L", 177.14),  # 1 mmol/L = 88.57 mg/dL
    ("triglycerides", "2571-8", 156, "mg/dL", 156.0),
    ("triglycerides", "2571-8", 156, "mg/dl", 156.0),
    ("fibrinogen", "3255-7", 3.5, "g/L", 350.0),  # 4a: 3.5 g/L = 350 mg/dL
    ("fibrinogen", "3255-7", 10.6, "umol/L", 360.4),  # verification.md 3.2: 360 mg/dL = 10.6 umol/L
    ("troponin-i", "10839-9", 0.04, "ng/mL", 40.0),  # ng/mL x 1000 = ng/L
    ("troponin-i", "89579-7", 34, "ng/L", 34.0),
    ("troponin-i", "89579-7", 34, "pg/mL", 34.0),
    ("troponin-t", "6598-7", 0.014, "ug/L", 14.0),
    ("ck-mb", "13969-1", 5, "ug/L", 5.0),
    ("cd4-cd8-ratio", "54218-3", 1.3, "{ratio}", 1.3),
    ("bmi", "39156-5", 21.5, "kg/m2", 21.5),
    ("body-weight", "29463-7", 22000, "g", 22.0),
    ("body-weight", "29463-7", 100, "[lb_av]", 45.359237),  # lb x 0.45359237
    ("body-weight", "29463-7", 16, "[oz_av]", 0.45359237),
    ("body-height", "8302-2", 1.2, "m", 120.0),
    ("body-height", "8302-2", 50, "[in_i]", 127.0),  # in x 2.54
    ("body-temperature", "8310-5", 38.2, "Cel", 38.2),
    ("body-temperature", "8310-5", 100.4, "[degF]", 38.0),  # [degF] -> Cel
    ("body-temperature", "8310-5", 212, "°F", 100.0),
]


@pytest.mark.parametrize(("name", "loinc", "value", "unit", "expected"), CONVERSIONS)
def test_each_unit_converts_to_the_canonical_unit(
    name: str, loinc: str, value: float, unit: str, expected: float
) -> None:
    (result,) = facts_of(lab(loinc, value, unit)).labs
    assert result.concept == name
    assert result.unit == VALUESETS.units[name]
    assert result.value == pytest.approx(expected, rel=1e-4)
    assert result.usable and result.problem is None


def test_the_unit_text_is_used_when_the_system_is_not_ucum() -> None:
    obs = observation(concept(LOINC, "2276-4"), valueQuantity=quantity(1000, "pmol/L", ucum=False))
    (result,) = facts_of(obs).labs
    assert result.value == pytest.approx(445.0)


def test_the_ucum_code_wins_over_the_unit_text() -> None:
    sent = {"value": 3.2, "unit": "microkatal per litre", "system": "http://unitsofmeasure.org", "code": "ukat/L"}
    (result,) = facts_of(observation(concept(LOINC, "2157-6"), valueQuantity=sent)).labs
    assert result.value == pytest.approx(192.0)
    assert result.display_value == "3.2 microkatal per litre"


def test_an_unknown_unit_fails_closed_with_a_data_issue() -> None:
    facts = facts_of(lab("2276-4", 812, "mg/furlong", id="f1"))
    (result,) = facts.labs
    assert (result.value, result.usable, result.problem) == (None, False, "unknown unit 'mg/furlong'")
    assert result.display_value == "812 mg/furlong"
    assert [(i.concept, i.ref and i.ref.reference, i.problem) for i in facts.issues] == [
        ("ferritin", "Observation/f1", "unknown unit 'mg/furlong'")
    ]


def test_a_unit_of_another_analyte_is_unknown_here() -> None:
    # mmol/L is known for triglycerides (molar mass given) but not for ferritin.
    (result,) = facts_of(lab("2276-4", 2.0, "mmol/L")).labs
    assert result.problem == "unknown unit 'mmol/L'" and result.value is None


def test_a_missing_unit_on_a_dimensional_analyte_is_a_problem_but_not_on_a_ratio() -> None:
    no_unit = {"value": 250}
    ck = observation(concept(LOINC, "2157-6"), id="ck", valueQuantity=no_unit)
    ratio = observation(concept(LOINC, "54218-3"), id="r", valueQuantity={"value": 1.2})
    facts = facts_of(ck, ratio)
    assert facts.results("ck")[0].problem == "no unit"
    assert facts.results("cd4-cd8-ratio")[0].value == 1.2


def test_normalise_folds_micro_spellings_case_and_powers() -> None:
    assert units.normalise(" µg/L ") == units.normalise("mcg/L") == units.normalise("ug/l")
    assert units.normalise("10^9/L") == "10*9/l"
    assert units.normalise("K/mcL") == "k/ul"


def test_every_concept_with_a_table_has_its_canonical_unit_in_it() -> None:
    for name, unit in VALUESETS.units.items():
        conversion = units.conversion(name, unit)
        assert conversion is not None and conversion.apply(7.0) == pytest.approx(7.0), name
