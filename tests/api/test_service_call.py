"""The service call: request fields, the whole cards array, and every error status."""

from __future__ import annotations

import gc
from typing import Any

import orjson
from flask.testing import FlaskClient

from cds_service.facts.model import PatientFacts
from tests.conftest import hook_request

URL = "/cds-services/test-service"

EXPECTED_CARD: dict[str, Any] = {
    "uuid": "00000000-0000-4000-8000-000000000002",
    "summary": "Test card: born in 1950, before the cut-off",
    "indicator": "info",
    "detail": (
        "**What we saw**\n\n"
        "- Birth date: 1950-03-04 (undated, Patient/p1)\n"
        "\n**What to consider:** Nothing to do: this card exists to test the renderer. Year: 1950.\n"
        "\n**Evidence:** a test number ([Test 2026, Test J](https://doi.org/10.0000/test))."
    ),
    "source": {
        "label": "Test source",
        "url": "https://example.org/test",
        "topic": {"system": "urn:nxp2-cds:card", "code": "test-born-before",
                  "display": "Test card for patients born before a year"},
    },
    "suggestions": [{
        "label": "Order a test",
        "uuid": "00000000-0000-4000-8000-000000000001",
        "actions": [{
            "type": "create",
            "description": "A test order",
            "resource": {
                "resourceType": "ServiceRequest", "status": "draft", "intent": "proposal",
                "subject": {"reference": "Patient/p1"},
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "169069000",
                                     "display": "CT of chest"}], "text": "A test order"},
            },
        }],
    }],
    "selectionBehavior": "any",
    "overrideReasons": [{"system": "urn:nxp2-cds:override-reason", "code": "not-appropriate",
                         "display": "Not clinically appropriate"}],
    "links": [{"label": "Evidence and caveats", "url": "http://127.0.0.1:8080/evidence/test-born-before",
               "type": "absolute"},
              {"label": "Test link", "url": "https://example.org/link", "type": "absolute"}],
}


def post(client: FlaskClient, body: Any, url: str = URL, **kwargs: Any) -> Any:
    return client.post(url, data=orjson.dumps(body), content_type="application/json", **kwargs)


def test_a_matching_patient_gets_the_whole_card(client: FlaskClient) -> None:
    response = post(client, hook_request())
    assert response.status_code == 200
    assert response.json == {"cards": [EXPECTED_CARD]}


def test_an_escalation_changes_indicator_and_summary(client: FlaskClient) -> None:
    patient = {"resourceType": "Patient", "id": "p2", "birthDate": "1920-01-01"}
    card = post(client, hook_request(patient)).json["cards"][0]
    assert (card["indicator"], card["summary"]) == ("warning", "Test card escalated: born in 1920")


def test_a_patient_outside_the_rule_gets_an_empty_cards_array(client: FlaskClient) -> None:
    patient = {"resourceType": "Patient", "id": "p3", "birthDate": "2001-01-01"}
    response = post(client, hook_request(patient))
    assert (response.status_code, response.json) == (200, {"cards": []})


def test_every_optional_request_field_is_accepted(client: FlaskClient) -> None:
    body = hook_request(
        fhirServer="https://ehr.example.org/fhir",
        fhirAuthorization={"access_token": "secret-token", "token_type": "Bearer", "expires_in": 300,
                           "scope": "patient/*.read", "subject": "cds-service", "patient": "p1"},
        extension={"org.example.trace": "x"},
    )
    body["context"]["encounterId"] = "e1"
    assert post(client, body).status_code == 200


def _outcome(response: Any) -> str:
    assert response.json["resourceType"] == "OperationOutcome"
    return str(response.json["issue"][0]["code"])


def test_malformed_json_is_400(client: FlaskClient) -> None:
    response = client.post(URL, data=b"{not json", content_type="application/json")
    assert (response.status_code, _outcome(response)) == (400, "invalid")


def test_a_missing_required_field_is_400_naming_it(client: FlaskClient) -> None:
    body = hook_request()
    del body["hookInstance"]
    response = post(client, body)
    assert response.status_code == 400
    assert "hookInstance" in response.json["issue"][0]["diagnostics"]


def test_a_hook_the_service_does_not_serve_is_400(client: FlaskClient) -> None:
    response = post(client, hook_request(hook="order-select"))
    assert (response.status_code, _outcome(response)) == (400, "not-supported")


def test_a_token_without_fhir_server_is_400(client: FlaskClient) -> None:
    body = hook_request(fhirAuthorization={"access_token": "t", "token_type": "Bearer", "expires_in": 1,
                                           "scope": "s", "subject": "x"})
    assert post(client, body).status_code == 400


def test_an_unknown_service_is_404(client: FlaskClient) -> None:
    response = post(client, hook_request(), url="/cds-services/nope")
    assert (response.status_code, _outcome(response)) == (404, "not-found")


def test_a_malformed_body_is_never_404(client: FlaskClient) -> None:
    assert client.post(URL, data=b"[]", content_type="application/json").status_code == 400


def test_get_on_the_service_is_405(client: FlaskClient) -> None:
    response = client.get(URL)
    assert response.status_code == 405
    assert response.json["resourceType"] == "OperationOutcome"


def test_a_non_json_content_type_is_415(client: FlaskClient) -> None:
    response = client.post(URL, data=orjson.dumps(hook_request()), content_type="text/plain")
    assert (response.status_code, _outcome(response)) == (415, "not-supported")


def test_a_body_over_the_limit_is_413(client: FlaskClient) -> None:
    client.application.config["MAX_CONTENT_LENGTH"] = 1000
    body = hook_request(extension={"org.example.pad": "x" * 2000})
    response = post(client, body)
    assert (response.status_code, _outcome(response)) == (413, "too-costly")


def test_missing_required_prefetch_without_fhir_server_is_412_naming_the_key(client: FlaskClient) -> None:
    body = hook_request()
    del body["prefetch"]["patient"]
    response = post(client, body)
    assert (response.status_code, _outcome(response)) == (412, "incomplete")
    assert "'patient'" in response.json["issue"][0]["diagnostics"]


def test_an_internal_error_is_500_without_a_stack_trace(client: FlaskClient, monkeypatch: Any) -> None:
    import cds_service.hooks.evaluate as evaluate_module

    def explode(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret patient value 812 ng/mL")

    monkeypatch.setattr(evaluate_module, "build_facts", explode)
    response = post(client, hook_request())
    assert (response.status_code, _outcome(response)) == (500, "exception")
    assert b"Traceback" not in response.data and b"812" not in response.data


def test_an_access_token_outside_the_bearer_token_alphabet_is_400(client: FlaskClient) -> None:
    for token in ("tok\u00e9n", "two words", "ab\ncd"):
        body = hook_request(fhirServer="https://ehr.example.org/fhir",
                            fhirAuthorization={"access_token": token, "token_type": "Bearer", "expires_in": 60,
                                               "scope": "patient/*.read", "subject": "cds"})
        response = post(client, body)
        assert response.status_code == 400, token
        assert "fhirAuthorization.access_token" in response.json["issue"][0]["diagnostics"]
        assert token.encode() not in response.data


def test_the_call_s_facts_are_freed_after_the_answer_is_sent(client: FlaskClient) -> None:
    """The decoded prefetch and the facts outlive the view until the server closes the response it sent."""

    def facts_alive() -> int:
        return sum(isinstance(item, PatientFacts) for item in gc.get_objects())

    before = facts_alive()
    response = post(client, hook_request(), buffered=False)  # the server has not closed it yet
    assert response.status_code == 200
    assert facts_alive() == before + 1
    response.close()
    assert facts_alive() == before
