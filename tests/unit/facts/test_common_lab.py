"""The fast path for laboratory Observations of the common shape (facts/common_lab.py) gives the general path's facts.

`build_facts` reads Observations with `read_observation_fast`: `read_common_lab` first, else the general path
(`observations.read_observation`). For generated Observations near the common shape and off it in every field
(status, codings, dates, numbers, units, comparators, ranges in other units, wrong types), reading each one both
ways must give equal LabResults (their repr too: a -0.0 or a time zone would show there), equal DataIssues and
nothing else; and when the fast path declines, it must have changed nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.facts import units
from cds_service.facts.collector import Collector
from cds_service.facts.common_lab import read_common_lab, read_observation_fast
from cds_service.facts.observations import read_observation
from tests.unit.facts.fhir import UCUM, VALUESETS, concept, lab, observation, quantity
from tests.unit.facts.test_properties import DATES, STATUSES, UNITS, codeables, wrong

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LAB_CODES = sorted(key for key, names in VALUESETS.by_code.items() if VALUESETS.kinds[names[0]] == "lab")
# Units labs send for the concepts above, in the spellings the unit table accepts and some it does not.
LAB_UNITS = [*UNITS, "IU/L", "µkat/L", "ug/L", "x10^9/L", "K/uL", "10*3/uL", "mg/dL", "ng/L", "pg/mL", "[degF]",
             "{score}", "kg/m^2", "lbs", "u/l", " U/L", "mcg/L"]
DATE_TIMES = [*DATES, "2026-11-22T23:00:00Z", "2026-11-22T23:00:00.123+01:00", "2026-11-22t23:00:00Z",
              "2026-11-22T23:00", "2026-11-22T23:00:00", "2026-11-22T25:00:00Z", "2026-11-22 23:00:00Z",
              "2026-11-22T23:00:00+00:00", "20261122T230000Z", "2026-W47-1T10:00:00Z", "2026-11-22T23:00:00ZZ"]
numbers = st.one_of(
    st.floats(-1e6, 1e6), st.integers(-(10**6), 10**6), st.just(-0.0), st.just(10**400), st.just(1e308),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
)


@st.composite
def often(draw: st.DrawFn, usual: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> Any:
    """Draw from `usual` seven times in eight: an Observation has several fields, and most should take the fast path."""
    # The usual draw is hypothesis's simplest (0), which it tries first and most often.
    return draw(other) if draw(st.integers(0, 7)) == 7 else draw(usual)


@st.composite
def lab_codes(draw: st.DrawFn, system: str, code: str) -> Any:
    """Mostly one coding of a lab concept; sometimes two codings, a coding of another kind, or any CodeableConcept."""
    shape = draw(st.integers(0, 9))
    if shape == 9:
        return draw(codeables())
    if shape == 8:
        other, other_code = draw(st.sampled_from(sorted(VALUESETS.by_code)))
        return {"coding": [{"system": system, "code": code}, {"system": other, "code": other_code}]}
    if shape == 7:
        return {"coding": [{"system": system, "code": code}, {"system": "http://lab.example.org", "code": "X1"}]}
    return concept(system, code, draw(st.sampled_from(["", "Creatine kinase"])))


@st.composite
def lab_quantities(draw: st.DrawFn, unit: str) -> Any:
    """A Quantity in `unit` as labs send it (UCUM or not, the text or the code missing), or something else."""
    if draw(st.integers(0, 9)) == 9:
        return draw(wrong)
    unit = draw(often(st.just(unit), st.sampled_from(LAB_UNITS) | wrong))
    usual = st.floats(-1e4, 1e4) | st.integers(-1000, 10**5) | st.just(1.7e308)  # x 60 (ukat/L) is not finite
    body: dict[str, Any] = {"value": draw(often(usual, numbers | wrong))}
    shape = draw(st.integers(0, 5))
    if shape != 1:
        body["unit"] = unit
    if shape in (0, 1, 2):
        body["system"], body["code"] = UCUM, unit
    if shape == 2:
        body["unit"] = draw(st.sampled_from(["", "units per litre", unit]) | wrong)
    if shape == 3:
        body["code"] = draw(st.sampled_from(LAB_UNITS) | wrong)
    if shape == 4:  # not UCUM: the unit text is the unit, even an empty one; the code only when there is no text
        body["system"] = draw(st.sampled_from(["http://example.org/units", UCUM + "/"]))
        text = draw(st.sampled_from(["", None, "units", unit]))
        if text is not None:
            body["unit"] = text
        body["code"] = draw(often(st.just(unit), st.sampled_from(LAB_UNITS) | wrong))
    if draw(st.integers(0, 7)) == 7:
        body["comparator"] = draw(st.sampled_from(["<", ">", "<=", ">=", "~", None]) | wrong)
    return body


@st.composite
def lab_observations(draw: st.DrawFn) -> dict[str, Any]:
    system, code = draw(st.sampled_from(LAB_CODES))
    (name,) = VALUESETS.by_code[(system, code)]
    known = [unit for unit in LAB_UNITS if units.conversion(name, unit) is not None]
    unit = draw(often(st.sampled_from(known or LAB_UNITS), st.sampled_from(LAB_UNITS)))
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "status": draw(often(st.sampled_from(["final", "amended", "corrected"]), st.sampled_from(STATUSES) | wrong)),
        "code": draw(lab_codes(system, code)),
        "effectiveDateTime": draw(often(st.sampled_from(DATE_TIMES), wrong)),
        "valueQuantity": draw(lab_quantities(unit)),
    }
    if draw(st.integers(0, 7)):
        body["id"] = draw(often(st.sampled_from(["o1", "obs-2000", ""]), wrong))
    shape = draw(st.integers(0, 5))
    if shape in (0, 1, 2):
        ranges = [draw(st.fixed_dictionaries({}, optional={"low": lab_quantities(unit), "high": lab_quantities(unit)}))]
        body["referenceRange"] = ranges + draw(st.lists(wrong, max_size=1))
    elif shape == 3:
        body["referenceRange"] = draw(wrong | st.just([]))
    others = ["effectivePeriod", "effectiveInstant", "valueString", "component", "dataAbsentReason", "interpretation"]
    for other in draw(st.lists(st.sampled_from(others), max_size=2)):
        body[other] = draw(st.sampled_from([{"start": "2026-01-01"}, "2026-01-02T03:04:05Z", "12", []]) | wrong)
    if draw(st.integers(0, 15)) == 15:
        del body[draw(st.sampled_from(sorted(body)))]
    return body


def collector() -> Collector:
    return Collector(VALUESETS, NOW, None, None)


def read_both(resources: list[dict[str, Any]]) -> tuple[Collector, Collector]:
    fast, general = collector(), collector()
    for resource in resources:
        read_observation_fast(fast, resource)
        read_observation(general, resource)
    return fast, general


def assert_same(fast: Collector, general: Collector) -> None:
    assert fast.labs == general.labs
    assert repr(fast.labs) == repr(general.labs)
    assert fast.issues == general.issues
    assert (fast.antibodies, fast.problems, fast.tests_done, fast.tests_declined) == (
        general.antibodies, general.problems, general.tests_done, general.tests_declined)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(lab_observations(), min_size=1, max_size=4))
def test_the_fast_path_gives_the_general_paths_facts(items: list[dict[str, Any]]) -> None:
    # Several per call: the per-call tables of codings and units are then read as well as filled.
    assert_same(*read_both(items))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(item=lab_observations())
def test_the_fast_path_changes_nothing_when_it_declines(item: dict[str, Any]) -> None:
    facts = collector()
    if not read_common_lab(facts, item):
        assert (facts.labs, facts.issues, facts.antibodies, facts.problems) == ([], [], [], [])


def test_the_common_shape_takes_the_fast_path_and_reads_as_before() -> None:
    usual = lab("2157-6", 2600.5, "U/L", id="o7", effectiveDateTime="2026-11-20T08:00:00Z",
                referenceRange=[{"low": quantity(30, "U/L"), "high": quantity(3.3, "ukat/L")}])
    ck = concept("http://loinc.org", "2157-6")
    in_ukat = observation(ck, id="o8", effective="2026-11-19",
                          valueQuantity=quantity(43, "ukat/L"), referenceRange=[{"high": quantity(200, "U/L")}])
    # Not UCUM, no text: the code is the unit.
    no_text = observation(ck, id="o9", valueQuantity={"value": 12, "system": "http://example.org/u", "code": "IU/L"})
    facts = collector()
    assert read_common_lab(facts, usual) and read_common_lab(facts, in_ukat) and read_common_lab(facts, no_text)
    assert [(r.concept, r.value, r.unit, r.effective, r.usable, r.reference_low, r.reference_high, r.display_value,
             r.ref.reference) for r in facts.labs] == [
        ("ck", 2600.5, "U/L", datetime(2026, 11, 20, 8, tzinfo=UTC), True, 30.0, 198.0, "2600.5 U/L", "Observation/o7"),
        ("ck", 2580.0, "U/L", datetime(2026, 11, 19, tzinfo=UTC), True, None, 200.0, "43 ukat/L", "Observation/o8"),
        ("ck", 12.0, "U/L", datetime(2026, 11, 20, 8, tzinfo=UTC), True, None, None, "12 IU/L", "Observation/o9"),
    ]
    assert_same(*read_both([usual, in_ukat, no_text]))


def test_shapes_the_fast_path_leaves_to_the_general_path() -> None:
    ck = concept("http://loinc.org", "2157-6")
    declined = [
        lab("2157-6", 12, "U/L", status="preliminary"),  # kept unusable, with a problem
        lab("2157-6", 12, "U/L", effective=None),  # no date
        observation(ck, valueQuantity=quantity(12, "U/L", comparator="<")),  # a limit
        observation(ck, valueQuantity=quantity(12, "mmol/L")),  # unknown unit
        observation(ck, valueString="12"),  # text
        observation(ck, valueQuantity=quantity(1.7e308, "ukat/L")),  # not finite once converted
        # Not UCUM: the unit is the text, not the code; an empty text (not valid FHIR, so a raw dict) is no unit.
        {"resourceType": "Observation", "status": "final", "code": ck, "effectiveDateTime": "2026-11-22",
         "valueQuantity": {"value": 12, "unit": "", "system": "http://example.org/u", "code": "U/L"}},
        # Not valid FHIR (so a raw dict): an hour 25, and a Period the general path then reads.
        {"resourceType": "Observation", "status": "final", "code": ck, "effectiveDateTime": "2026-11-22T25:00:00Z",
         "effectivePeriod": {"start": "2026-11-01"}, "valueQuantity": quantity(12, "U/L")},
    ]
    for item in declined:
        facts = collector()
        assert not read_common_lab(facts, item)
        assert_same(*read_both([item]))
