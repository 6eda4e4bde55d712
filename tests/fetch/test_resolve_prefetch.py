"""Resolving the prefetch that was sent, key by key (spec section 4.4), with no FHIR server involved."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.hooks.errors import PrefetchUnavailable
from cds_service.hooks.prefetch import resolve
from tests.fetch.helpers import PATIENT, TEMPLATES, kinds, observation, request, searchset

REQUIRED = ["patient", "observations"]


def run(prefetch: dict[str, Any], required: list[str] = REQUIRED, **kwargs: Any) -> Any:
    return resolve(TEMPLATES, required, request(prefetch, **kwargs))


def test_a_full_prefetch_is_used_as_sent() -> None:
    data = run({"patient": PATIENT, "observations": searchset(observation(1), observation(2)),
                "conditions": searchset()})
    assert data.patient == PATIENT
    assert [r["id"] for r in data.resources] == ["o1", "o2"]
    assert (data.unavailable, data.incomplete, data.fetched) == ((), (), ())


def test_an_absent_required_key_without_fhir_server_is_412_naming_it() -> None:
    with pytest.raises(PrefetchUnavailable) as caught:
        run({"patient": PATIENT, "conditions": None})
    assert caught.value.key == "observations"
    assert "no fhirServer" in caught.value.reason


def test_an_absent_optional_key_is_unavailable() -> None:
    data = run({"patient": PATIENT, "observations": searchset()})
    assert data.unavailable == ("conditions",)


def test_null_means_asked_and_no_data() -> None:
    data = run({"patient": PATIENT, "observations": None, "conditions": None})
    assert (data.resources, data.unavailable) == ((), ())


def test_an_empty_bundle_means_no_data() -> None:
    data = run({"patient": PATIENT, "observations": {"resourceType": "Bundle", "type": "searchset", "total": 0},
                "conditions": searchset()})
    assert (data.resources, data.unavailable) == ((), ())


def test_an_operation_outcome_without_fhir_server_is_unavailable_or_412_when_required() -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
    data = run({"patient": PATIENT, "observations": searchset(), "conditions": outcome})
    assert data.unavailable == ("conditions",)
    with pytest.raises(PrefetchUnavailable) as caught:
        run({"patient": PATIENT, "observations": outcome, "conditions": None})
    assert caught.value.key == "observations"
    assert "OperationOutcome" in caught.value.reason


def test_only_match_entries_are_the_keys_data() -> None:
    bundle = searchset(observation(1))
    bundle["entry"] += [
        {"resource": observation(2)},  # no search.mode: a match
        {"resource": {"resourceType": "Condition", "id": "c9"}, "search": {"mode": "include"}},
        {"resource": {"resourceType": "OperationOutcome", "issue": []}, "search": {"mode": "outcome"}},
        {"search": {"mode": "match"}},  # no resource
        "not an entry",
    ]
    data = run({"patient": PATIENT, "observations": bundle, "conditions": None})
    assert [r["id"] for r in data.resources] == ["o1", "o2"]


def test_an_included_patient_is_used_when_the_patient_key_is_null() -> None:
    bundle = searchset(observation(1))
    bundle["entry"].append({"resource": PATIENT, "search": {"mode": "include"}})
    data = run({"patient": None, "observations": bundle, "conditions": None})
    assert data.patient == PATIENT
    assert kinds(data) == {"Observation": 1}


def test_a_patient_with_another_id_is_not_the_patient() -> None:
    other = dict(PATIENT, id="someone-else")
    with pytest.raises(PrefetchUnavailable) as caught:
        run({"patient": other, "observations": searchset(), "conditions": None})
    assert caught.value.key == "patient"
    bundle = searchset(observation(1))
    bundle["entry"].append({"resource": other, "search": {"mode": "include"}})
    with pytest.raises(PrefetchUnavailable):
        run({"patient": None, "observations": bundle, "conditions": None})


def test_a_value_of_the_wrong_kind_is_not_used() -> None:
    with pytest.raises(PrefetchUnavailable) as caught:
        run({"patient": observation(1), "observations": searchset(), "conditions": None})
    assert caught.value.key == "patient"


def test_a_next_link_that_cannot_be_followed_keeps_the_first_page_as_incomplete() -> None:
    # The public sandbox's case: first page only, a next link, no usable fhirServer. Degraded, not 412,
    # even for a required key.
    bundle = searchset(observation(1), next_url="https://sandbox.example.org/fhir?page=2")
    data = run({"patient": PATIENT, "observations": bundle, "conditions": None})
    assert [r["id"] for r in data.resources] == ["o1"]
    assert data.incomplete == ("observations",)
    assert data.unavailable == ()


def test_resources_sent_under_two_keys_are_kept_once() -> None:
    data = run({"patient": PATIENT, "observations": searchset(observation(1)),
                "conditions": searchset(observation(1), {"resourceType": "Condition", "id": "c1"})})
    assert [r["id"] for r in data.resources] == ["o1", "c1"]


def test_a_template_token_without_a_context_value_makes_the_key_unavailable() -> None:
    templates = dict(TEMPLATES, encounter="Encounter/{{context.encounterId}}")
    data = resolve(templates, REQUIRED, request({"patient": PATIENT, "observations": None, "conditions": None}))
    assert data.unavailable == ("encounter",)
