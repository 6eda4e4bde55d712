"""Property tests: build_facts never raises on arbitrary FHIR-shaped JSON, and never needs its safety net."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.facts.build import UNREADABLE_CONCEPT, build_facts
from tests.unit.facts.fhir import VALUESETS

KNOWN_CODES = sorted(VALUESETS.by_code)
# Numeric and antibody codes take the longest path (observations.py, values.py): draw them as often as all others.
VALUE_CODES = [
    key for key, names in sorted(VALUESETS.by_code.items()) if VALUESETS.kinds[names[0]] in ("lab", "antibody")
]
RESOURCE_TYPES = ["Observation", "Condition", "Procedure", "Patient", "DiagnosticReport", "ImagingStudy", "Bundle"]
FIELDS = [
    "id", "status", "code", "valueQuantity", "valueString", "valueCodeableConcept", "valueBoolean", "valueRatio",
    "interpretation", "referenceRange", "effectiveDateTime", "effectivePeriod", "effectiveInstant", "component",
    "method", "dataAbsentReason", "clinicalStatus", "verificationStatus", "onsetDateTime", "onsetAge", "onsetPeriod",
    "recordedDate", "performedDateTime", "performedPeriod", "statusReason", "meta", "issued", "procedureCode",
    "started", "birthDate", "gender",
]
JSON_KEYS = [*FIELDS, "value", "unit", "system", "code", "coding", "display", "text", "start", "end", "low", "high"]
STATUSES = ["final", "amended", "corrected", "preliminary", "entered-in-error", "cancelled", "completed",
            "not-done", "available", "active", "refuted", "unknown", ""]
DATES = ["2019", "2019-05", "2019-05-17", "2019-05-17T10:30:00Z", "2019-05-17T10:30:00+14:00", "0001-01-01",
         "9999-12-31T23:59:59-12:00", "2019-02-30", "yesterday", "", "2019-05-17T10:30"]
UNITS = ["U/L", "ukat/L", "ng/mL", "pmol/L", "mmol/L", "g/L", "10*9/L", "/uL", "kg", "g", "[lb_av]", "cm", "[in_i]",
         "m", "Cel", "[degF]", "kg/m2", "{ratio}", "{titer}", "", "µ", "%", "SI"]
TEXTS = ["NXP2 Ab", "anti-MJ", "MJ", "Mi-2 Ab", "Positive", "negative", "1:160", "<5", ">1500", "borderline", "2+"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers() | st.just(10**400),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12), st.sampled_from(DATES + TEXTS + UNITS),
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(JSON_KEYS),
                                                                      children, max_size=4),
    max_leaves=6,
)

# Wrong types on purpose: a list or an object where FHIR has a string, and the reverse.
wrong = st.one_of(scalars, st.lists(scalars, min_size=1, max_size=2),
                  st.dictionaries(st.sampled_from(JSON_KEYS), scalars, min_size=1, max_size=2))


@st.composite
def mostly(draw: st.DrawFn, usual: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> Any:
    """Draw from `usual` three times in four (st.one_of would flatten `other`'s branches and drown `usual`)."""
    return draw(other) if draw(st.integers(0, 3)) == 0 else draw(usual)


@st.composite
def codings(draw: st.DrawFn) -> dict[str, Any]:
    system, code = draw(st.sampled_from(VALUE_CODES) | st.sampled_from(KNOWN_CODES))
    coding: dict[str, Any] = {
        "system": draw(mostly(st.sampled_from([system, system, "urn:oid:2.16.840.1.113883.6.1"]), wrong)),
        "code": draw(mostly(st.sampled_from([code, code.replace(".", "")]), wrong)),
    }
    if draw(st.booleans()):
        coding["display"] = draw(st.sampled_from(TEXTS) | st.text(max_size=8))
    return coding


@st.composite
def codeables(draw: st.DrawFn) -> Any:
    shape = draw(st.integers(0, 3))
    if shape == 0:
        return draw(json_values)
    body: dict[str, Any] = {"coding": draw(st.lists(mostly(codings(), json_values), min_size=1, max_size=3))}
    if shape == 2:
        body["text"] = draw(mostly(st.sampled_from(TEXTS), json_values))
    return body


@st.composite
def quantities(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    unit = draw(mostly(st.sampled_from(UNITS), wrong))
    body = {
        "value": draw(mostly(st.floats(-1e6, 1e6) | st.integers(-(10**6), 10**6), wrong)),
        "unit": unit,
        "system": draw(st.sampled_from(["http://unitsofmeasure.org", None])),
        "code": unit,
    }
    if draw(st.booleans()):
        body["comparator"] = draw(st.sampled_from(["<", ">", "<=", ">=", "~", 3]))
    return body


FIELD_STRATEGIES: dict[str, Any] = {
    "status": mostly(st.sampled_from(STATUSES), wrong),
    "code": codeables(),
    "valueCodeableConcept": codeables(),
    "interpretation": mostly(st.lists(codeables(), max_size=2), json_values),
    "valueQuantity": quantities(),
    "referenceRange": mostly(st.lists(st.fixed_dictionaries({}, optional={"low": quantities(), "high": quantities()}),
                                      max_size=2), json_values),
    "component": mostly(st.lists(st.fixed_dictionaries({"code": codeables()}, optional={
        "valueQuantity": quantities(), "valueString": json_values}), max_size=3), json_values),
    "clinicalStatus": codeables() | st.sampled_from(STATUSES),
    "verificationStatus": codeables() | st.sampled_from(STATUSES),
    "procedureCode": mostly(st.lists(codeables(), max_size=2), json_values),
    "onsetAge": st.fixed_dictionaries({"value": mostly(st.integers(0, 20), scalars),
                                       "code": mostly(st.sampled_from(["a", "mo", "d", "x"]), scalars)}),
    "effectivePeriod": st.fixed_dictionaries({}, optional={"start": mostly(st.sampled_from(DATES), scalars),
                                                          "end": mostly(st.sampled_from(DATES), scalars)}),
    "birthDate": mostly(st.sampled_from([*DATES, "2018-06-01", "1960-01-01"]), scalars),
    "gender": mostly(st.sampled_from(["male", "female", "other"]), scalars),
}
for date_field in ("effectiveDateTime", "effectiveInstant", "onsetDateTime", "recordedDate", "performedDateTime",
                   "issued", "started"):
    FIELD_STRATEGIES[date_field] = mostly(st.sampled_from(DATES), wrong)


# The fields each resource type is read for; a generated resource gets each with probability 1/2, plus a few
# random others, so the readers see wrong shapes often instead of rarely.
READ_FIELDS = {
    "Observation": ["status", "code", "valueQuantity", "valueString", "valueCodeableConcept", "valueBoolean",
                    "valueRatio", "interpretation", "referenceRange", "effectiveDateTime", "effectivePeriod",
                    "effectiveInstant", "component", "method", "dataAbsentReason", "id"],
    "Condition": ["code", "clinicalStatus", "verificationStatus", "onsetDateTime", "onsetAge", "onsetPeriod",
                  "recordedDate", "id"],
    "Procedure": ["status", "code", "performedDateTime", "performedPeriod", "statusReason", "meta", "id"],
    "DiagnosticReport": ["status", "code", "effectiveDateTime", "effectivePeriod", "issued", "id"],
    "ImagingStudy": ["status", "procedureCode", "started", "id"],
    "Patient": ["birthDate", "gender", "id"],
}


@st.composite
def resources(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 19)) == 0:
        return draw(json_values)
    if draw(st.integers(0, 9)) == 0:
        resource_type: Any = draw(wrong)
        names = draw(st.lists(st.sampled_from(FIELDS), max_size=6, unique=True))
    else:
        resource_type = draw(st.sampled_from(sorted(READ_FIELDS)))
        names = [name for name in READ_FIELDS[resource_type] if draw(st.booleans())]
        names += draw(st.lists(st.sampled_from(FIELDS), max_size=2, unique=True))
    body: dict[str, Any] = {"resourceType": resource_type}
    for name in names:
        body[name] = draw(FIELD_STRATEGIES.get(name, json_values))
    return body


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patient=resources(), items=st.lists(resources(), max_size=6), adult_now=st.booleans())
def test_build_facts_never_raises_and_never_needs_the_safety_net(
    patient: Any, items: list[Any], adult_now: bool
) -> None:
    if not isinstance(patient, dict):
        patient = {"resourceType": "Patient"}
    now = datetime(2026, 11, 24, tzinfo=UTC) if adult_now else datetime(2019, 1, 1, tzinfo=UTC)
    facts = build_facts(patient, items, now, VALUESETS, unavailable=("procedures",))
    assert [i for i in facts.issues if i.concept == UNREADABLE_CONCEPT] == []
    for lab in facts.labs:
        assert lab.usable is (lab.problem is None)
        # A value is kept only when the status alone is the problem (shown, never used).
        assert lab.value is None or lab.problem in (None, "preliminary", "no status") or lab.problem.startswith(
            "status"
        )
    for result in facts.antibodies:
        assert not (result.usable and result.problem)
    for growth in facts.growth:
        assert growth.measured.tzinfo is not None


def test_the_safety_net_turns_an_unexpected_shape_into_an_issue(monkeypatch: Any) -> None:
    import cds_service.facts.observations as observations

    def explode(*_: Any) -> Any:
        raise TypeError("boom")

    monkeypatch.setattr(observations, "effective", explode)
    observation = {"resourceType": "Observation", "id": "o9", "status": "final",
                   "code": {"coding": [{"system": "http://loinc.org", "code": "2157-6"}]}}
    facts = build_facts({"resourceType": "Patient"}, [observation], datetime(2026, 1, 1, tzinfo=UTC), VALUESETS)
    assert [(i.concept, i.ref and i.ref.reference, i.problem) for i in facts.issues] == [
        (UNREADABLE_CONCEPT, "Observation/o9", "Observation could not be read (TypeError)")
    ]
