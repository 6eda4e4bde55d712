"""Growth: BMI from Observations or weight + height, and BMI-for-age z from rcpchgrowth's WHO/CDC tables."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rcpchgrowth.constants import BMI, CDC, WHO
from rcpchgrowth.global_functions import sds_for_measurement

from cds_service.facts.growth import bmi_for_age_z
from cds_service.facts.valuesets import load_valuesets
from tests.unit.facts.conftest import edit
from tests.unit.facts.fhir import facts_of, lab, patient


def test_bmi_from_a_bmi_observation() -> None:
    (growth,) = facts_of(lab("39156-5", 21.5, "kg/m2", id="b", effective="2026-11-01")).growth
    assert (growth.bmi, growth.measured) == (21.5, datetime(2026, 11, 1, tzinfo=UTC))
    assert [r.id for r in growth.refs] == ["b"]
    assert (growth.z_score, growth.problem) == (None, None)  # an adult: no z, nothing missing


def test_bmi_from_weight_and_height_within_90_days() -> None:
    facts = facts_of(lab("29463-7", 70, "kg", id="w", effective="2026-11-01"),
                     lab("8302-2", 175, "cm", id="h", effective="2026-08-04"))  # 89 days earlier
    (growth,) = facts.growth
    assert growth.bmi == pytest.approx(70 / 1.75**2)
    assert [r.id for r in growth.refs] == ["w", "h"]
    assert growth.measured == datetime(2026, 11, 1, tzinfo=UTC)


def test_no_bmi_from_weight_and_height_more_than_90_days_apart() -> None:
    facts = facts_of(lab("29463-7", 70, "kg", id="w", effective="2026-11-01"),
                     lab("8302-2", 175, "cm", id="h", effective="2026-08-02"))  # 91 days
    assert facts.growth == ()


def test_the_nearest_height_is_used() -> None:
    facts = facts_of(lab("29463-7", 20, "kg", id="w", effective="2026-06-01"),
                     lab("8302-2", 100, "cm", id="old", effective="2026-03-10"),
                     lab("8302-2", 110, "cm", id="near", effective="2026-06-20"))
    assert [r.id for r in facts.growth[0].refs] == ["w", "near"]


def test_a_recorded_bmi_on_the_same_day_is_not_computed_again() -> None:
    facts = facts_of(lab("39156-5", 22.9, "kg/m2", id="b", effective="2026-11-01T10:00:00Z"),
                     lab("29463-7", 70, "kg", id="w", effective="2026-11-01T09:00:00Z"),
                     lab("8302-2", 175, "cm", id="h", effective="2026-11-01T09:00:00Z"))
    assert [g.refs[0].id for g in facts.growth] == ["b"]


def test_the_pairing_window_comes_from_the_value_set(valueset_copy: Path) -> None:
    edit(valueset_copy, "bmi", "pair_within_days: 90", "pair_within_days: 120")
    valuesets = load_valuesets(valueset_copy)
    facts = facts_of(lab("29463-7", 70, "kg", id="w", effective="2026-11-01"),
                     lab("8302-2", 175, "cm", id="h", effective="2026-08-02"), valuesets=valuesets)
    assert len(facts.growth) == 1


def test_unusable_weights_make_no_bmi() -> None:
    facts = facts_of(lab("29463-7", 70, "stone", id="w", effective="2026-11-01"),
                     lab("8302-2", 175, "cm", id="h", effective="2026-11-01"))
    assert facts.growth == ()


# --- z-scores -------------------------------------------------------------------------------------------
# Published WHO 2007 BMI-for-age reference, age 7:0 (NIN India / WHO 2007 appendix, quoted in verification.md
# section 6): boys median 15.5, -2 SD 13.1; girls median 15.4, -2 SD 12.7. The table prints one decimal.

CHILD_BORN = "2019-06-01"
AT_SEVEN = "2026-06-01"


@pytest.mark.parametrize(("sex", "bmi", "expected"), [("male", 15.5, 0.0), ("male", 13.1, -2.0),
                                                      ("female", 15.4, 0.0), ("female", 12.7, -2.0)])
def test_z_for_a_seven_year_old_matches_the_published_who_2007_table(sex: str, bmi: float, expected: float) -> None:
    facts = facts_of(lab("39156-5", bmi, "kg/m2", effective=AT_SEVEN), person=patient(CHILD_BORN, sex))
    (growth,) = facts.growth
    assert growth.z_score == pytest.approx(expected, abs=0.1)
    assert (growth.reference, growth.problem) == ("WHO 2006/2007", None)


def test_z_for_a_three_year_old_boy_matches_verification_md(valueset_copy: Path) -> None:
    # verification.md section 6: 3 y boy, BMI 15 -> z -0.50 (WHO) / -0.96 (CDC).
    who = facts_of(lab("39156-5", 15.0, "kg/m2", effective="2026-06-01"), person=patient("2023-06-01", "male"))
    edit(valueset_copy, "bmi", "z_reference: who", "z_reference: cdc")
    cdc = facts_of(lab("39156-5", 15.0, "kg/m2", effective="2026-06-01"), person=patient("2023-06-01", "male"),
                   valuesets=load_valuesets(valueset_copy))
    assert who.growth[0].z_score == pytest.approx(-0.50, abs=0.02)
    assert cdc.growth[0].z_score == pytest.approx(-0.96, abs=0.02)
    assert cdc.growth[0].reference == "CDC 2000"


@pytest.mark.parametrize("gender", [None, "other", "unknown"])
def test_no_z_without_a_male_or_female_sex(gender: str | None) -> None:
    facts = facts_of(lab("39156-5", 15.0, "kg/m2", effective=AT_SEVEN), person=patient(CHILD_BORN, gender))
    (growth,) = facts.growth
    assert growth.z_score is None and growth.problem is not None and "sex" in growth.problem


def test_no_z_without_a_birth_date() -> None:
    facts = facts_of(lab("39156-5", 15.0, "kg/m2", effective=AT_SEVEN), person=patient(None, "male"))
    assert facts.growth[0].problem == "no birth date: age unknown, BMI-for-age z not computed"


def test_no_z_below_the_age_of_the_cdc_reference(valueset_copy: Path) -> None:
    edit(valueset_copy, "bmi", "z_reference: who", "z_reference: cdc")
    facts = facts_of(lab("39156-5", 16.0, "kg/m2", effective="2026-06-01"), person=patient("2025-06-01", "female"),
                     valuesets=load_valuesets(valueset_copy))
    (growth,) = facts.growth
    assert growth.z_score is None
    assert growth.problem is not None and growth.problem.startswith("age 1.00 years is outside the CDC 2000")


def test_adults_get_no_z_and_no_problem() -> None:
    facts = facts_of(lab("39156-5", 17.0, "kg/m2", effective="2026-06-01"), person=patient("2008-05-01", "male"))
    assert (facts.growth[0].z_score, facts.growth[0].problem) == (None, None)


@pytest.mark.parametrize("reference", ["who", "cdc"])
@pytest.mark.parametrize("sex", ["male", "female"])
def test_the_fast_path_agrees_with_rcpchgrowth(reference: str, sex: str) -> None:
    library = {"who": WHO, "cdc": CDC}[reference]
    start = 0.05 if reference == "who" else 2.0
    for step in range(25):
        age = start + (18.9 - start) * step / 24
        for bmi in (11.0, 13.3, 15.0, 17.8, 22.0, 31.0):
            ours = bmi_for_age_z(bmi, age, sex, reference).z
            theirs = float(sds_for_measurement(reference=library, age=age, measurement_method=BMI,
                                               observation_value=bmi, sex=sex))
            if not math.isfinite(theirs):
                assert ours is None
            else:
                assert ours == pytest.approx(theirs, abs=1e-4), (reference, sex, age, bmi)
