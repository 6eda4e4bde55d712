"""Typed decoding (api/decode.py, facts/wire.py) gives the same facts as today's plain parse, for any body.

The request path decodes a hook call's prefetch into TypedDicts holding only the FHIR fields the service reads;
a field the readers use but `facts.wire` forgot would be silently absent. So, for generated resources of every
shape (tests/unit/facts/test_properties.py's strategies: wrong types, missing codes, odd statuses) and for the
fixture Bundles with one value mutated anywhere in them, the whole path (decode, HookRequest, resolve,
build_facts) must give equal facts, or the same error, whether the body was decoded typed or by `orjson.loads`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.api.decode import decode_hook_request, decode_json
from cds_service.cards.catalogue import load_catalogue
from cds_service.facts.build import build_facts
from cds_service.hooks.errors import PrefetchUnavailable
from cds_service.hooks.prefetch import resolve
from cds_service.protocol import HookRequest
from cds_service.rules import REGISTRY
from tests.unit.facts.fhir import VALUESETS
from tests.unit.facts.test_properties import json_values, resources, wrong

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = sorted((ROOT / "fhir_fixtures").glob("*.json"))
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
KEYS = ("observations", "conditions", "procedures", "diagnosticReports", "imagingStudies")


def _service() -> Any:
    catalogue = load_catalogue(ROOT / "cards", REGISTRY)
    service = catalogue.service("nxp2-myositis")
    assert service is not None
    return service


SERVICE = _service()


def outcome(decoded: Any) -> Any:
    """Facts of a decoded body by the service's own path, or the error that stopped it."""
    try:
        request = HookRequest.model_validate(decoded)
        data = resolve(SERVICE.prefetch, SERVICE.required_prefetch, request)
    except (ValueError, PrefetchUnavailable) as error:  # pydantic's ValidationError is a ValueError
        return type(error).__name__
    return build_facts(data.patient, data.resources, NOW, VALUESETS, unavailable=data.unavailable)


def assert_same_facts(body: bytes) -> None:
    try:
        plain = orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson refuses an integer beyond 10**308 (the whole call was a 400); the typed decoding reads it as
        # the stdlib does, and the readers treat it as any number they cannot use (see the test below).
        plain = json.loads(body)
    assert outcome(decode_hook_request(body, 1000)) == outcome(plain)


def bundle(items: list[Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": item, "search": {"mode": "match"}} for item in items]}


def full_prefetch(patient: Any, **bundles: list[Any]) -> dict[str, Any]:
    """Every key of the service's prefetch (the required ones must be there, or both paths stop at a 412)."""
    return {"patient": patient, **{key: bundle(bundles.get(key, [])) for key in KEYS}}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patient=resources(), items=st.lists(resources(), max_size=6), split=st.integers(0, len(KEYS) - 1))
def test_generated_resources_give_the_same_facts_typed_or_plain(patient: Any, items: list[Any], split: int) -> None:
    # A Patient with the context's id, so that both paths reach build_facts (else both stop at the same 412).
    patient = {**patient, "resourceType": "Patient", "id": "p1"} if isinstance(patient, dict) else {
        "resourceType": "Patient", "id": "p1", "birthDate": patient}
    prefetch = full_prefetch(patient, **{KEYS[split]: items})
    body = {"hook": "patient-view", "hookInstance": "h1", "context": {"userId": "Practitioner/1", "patientId": "p1"},
            "prefetch": prefetch}
    assert_same_facts(json.dumps(body).encode())  # the stdlib writes any integer, as a client may


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*path, index))
    return found


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fixture_bundles_with_one_value_mutated_give_the_same_facts(data: st.DataObject) -> None:
    fixture = orjson.loads(data.draw(st.sampled_from(FIXTURES)).read_bytes())
    patient = next(e["resource"] for e in fixture["entry"] if e["resource"]["resourceType"] == "Patient")
    by_key: dict[str, list[Any]] = {key: [] for key in KEYS}
    for entry in fixture["entry"]:
        kind = entry["resource"]["resourceType"]
        key = kind[0].lower() + kind[1:] + "s" if kind != "Patient" else None
        if key in by_key:
            by_key[key].append(entry["resource"])
    body = {"hook": "patient-view", "hookInstance": "h1",
            "context": {"userId": "Practitioner/1", "patientId": patient["id"]},
            "prefetch": full_prefetch(patient, **by_key)}
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(body["prefetch"])[1:]))
        holder = body["prefetch"]
        for step in path[:-1]:
            holder = holder[step]
        if data.draw(st.booleans()) and isinstance(holder, dict):
            del holder[path[-1]]
        else:
            holder[path[-1]] = data.draw(wrong | json_values)
    assert_same_facts(json.dumps(body).encode())


def test_every_fixture_gives_the_same_facts_typed_or_plain() -> None:
    for path in FIXTURES:
        fixture = orjson.loads(path.read_bytes())
        resources_ = [e["resource"] for e in fixture["entry"]]
        patient = next(r for r in resources_ if r["resourceType"] == "Patient")
        body = {"hook": "patient-view", "hookInstance": "h1",
                "context": {"userId": "Practitioner/1", "patientId": patient["id"]},
                "prefetch": full_prefetch(patient, observations=resources_)}
        typed, plain = outcome(decode_hook_request(orjson.dumps(body), 1000)), outcome(orjson.loads(orjson.dumps(body)))
        assert typed == plain, path.name


def test_typed_decoding_keeps_only_the_fields_read() -> None:
    observation = {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "x"},
                   "meta": {"versionId": "1", "lastUpdated": "2026-01-01"}, "text": {"div": "<div/>"},
                   "code": {"coding": [{"system": "http://loinc.org", "code": "2157-6", "userSelected": True}]}}
    body = orjson.dumps({"hook": "h", "x-unknown": [1], "prefetch": {"observations": bundle([observation])}})
    decoded = decode_hook_request(body, 1000)
    assert decoded == {"hook": "h", "prefetch": {"observations": {"resourceType": "Bundle", "entry": [{
        "resource": {"resourceType": "Observation", "id": "o1", "status": "final",
                     "meta": {"lastUpdated": "2026-01-01"},
                     "code": {"coding": [{"system": "http://loinc.org", "code": "2157-6"}]}},
        "search": {"mode": "match"}}]}}}
    assert decode_json(body, 1000) == orjson.loads(body)  # other bodies are decoded whole


def test_an_integer_too_large_for_a_float_is_data_not_used_not_a_failed_call() -> None:
    # orjson refuses the whole body (400); the typed decoding reads the integer and the reader drops the value.
    observation = {"resourceType": "Observation", "id": "o1", "status": "final", "effectiveDateTime": "2026-11-01",
                   "code": {"coding": [{"system": "http://loinc.org", "code": "2157-6"}]},
                   "valueQuantity": {"value": 10**400, "unit": "U/L", "system": "http://unitsofmeasure.org",
                                     "code": "U/L"}}
    body = json.dumps({"hook": "patient-view", "hookInstance": "h1",
                       "context": {"userId": "Practitioner/1", "patientId": "p1"},
                       "prefetch": full_prefetch({"resourceType": "Patient", "id": "p1"},
                                                 observations=[observation])}).encode()
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    facts = outcome(decode_hook_request(body, 1000))
    (lab,) = facts.labs
    assert (lab.concept, lab.value, lab.usable, lab.problem) == ("ck", None, False, "no numeric value")


def test_an_entry_whose_resource_has_an_id_but_no_resource_type_is_ignored_not_a_crash() -> None:
    # Found by the mutation test above: resolve indexed resources by resource["resourceType"] (a KeyError, a 500).
    body = {"hook": "patient-view", "hookInstance": "h1", "context": {"userId": "Practitioner/1", "patientId": "p1"},
            "prefetch": full_prefetch({"resourceType": "Patient", "id": "p1"},
                                      observations=[{"id": "o1", "status": "final"}])}
    facts = outcome(decode_hook_request(orjson.dumps(body), 1000))
    assert (facts.patient_id, facts.labs, facts.issues) == ("p1", (), ())


def test_other_bodies_read_integers_beyond_64_bits_as_orjson_does() -> None:
    # Found by tests/contract: a feedback item with such an extra field reached the store's orjson.dumps as an
    # int and failed (500). Feedback and demo bodies are parsed by orjson, which reads it as a float.
    assert decode_json(b'{"x": 143041734636319981568}', 10) == {"x": 1.4304173463631998e20}
