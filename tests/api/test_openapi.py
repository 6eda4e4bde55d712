"""`/openapi.json`: a valid OpenAPI 3.1 document of every route, with schemas taken from the wire models."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
import pytest
from flask import Flask
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from cds_service.api.openapi import openapi_document
from cds_service.app import create_app
from cds_service.protocol import CdsResponse, FeedbackRequest, HookRequest, OperationOutcome
from tests.conftest import TESTS, settings_for
from tests.rules_for_tests import TEST_REGISTRY
from tests.security.conftest import make_trust

ERROR_STATUSES = {"400", "401", "404", "405", "412", "413", "415", "500"}


@pytest.fixture
def document(test_app: Flask) -> dict[str, Any]:
    response = test_app.test_client().get("/openapi.json")
    assert (response.status_code, response.mimetype) == (200, "application/json")
    body: dict[str, Any] = response.json
    return body


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        *_, section, name = node["$ref"].split("/")
        node = document["components"][section][name]
    return node


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A JSON Schema 2020-12 validator for `schema`, with the document's components reachable by $ref."""
    return jsonschema_rs.validator_for({**schema, "components": document["components"]})


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "http://127.0.0.1:8080"}]  # CDS_PUBLIC_BASE_URL
    OPENAPI_31_VALIDATOR.validate(document)
    for name, schema in document["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


def test_every_route_is_documented_and_nothing_else(test_app: Flask, document: dict[str, Any]) -> None:
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        # The demo EHR (/demo) is development-only and not part of the API; tests/demo checks production has none.
        for rule in test_app.url_map.iter_rules() if rule.endpoint != "static" and not rule.endpoint.startswith("demo.")
        for method in rule.methods or () if method not in {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented == served


def test_every_cds_hooks_operation_documents_its_errors_as_operation_outcomes(document: dict[str, Any]) -> None:
    call = document["paths"]["/cds-services/{service_id}"]["post"]
    assert set(call["responses"]) == {"200"} | ERROR_STATUSES
    feedback = document["paths"]["/cds-services/{service_id}/feedback"]["post"]
    assert set(feedback["responses"]) == {"200"} | ERROR_STATUSES - {"412"}
    for item in document["paths"].values():
        for operation in item.values():
            if operation["tags"] == ["Evidence"]:
                # Pages for people, not API calls: an unknown card id is an HTML page saying so.
                assert all("text/html" in r.get("content", {"text/html": 0}) for r in operation["responses"].values())
                continue
            for status, response in operation["responses"].items():
                if status in ERROR_STATUSES:
                    schema = resolve(document, response)["content"]["application/json"]["schema"]
                    assert resolve(document, schema)["title"] == "OperationOutcome"


def test_schemas_are_the_pydantic_models_in_the_right_mode(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    ref = "#/components/schemas/{model}"
    request = HookRequest.model_json_schema(ref_template=ref, mode="validation")
    request.pop("$defs")
    request["properties"]["hook"]["enum"] = ["patient-view"]  # narrowed to the hooks this deployment serves
    assert schemas["HookRequest"] == request
    feedback = FeedbackRequest.model_json_schema(ref_template=ref, mode="validation")
    feedback.pop("$defs")
    assert schemas["FeedbackRequest"] == feedback
    cards = CdsResponse.model_json_schema(ref_template=ref, mode="serialization")
    cards.pop("$defs")
    assert schemas["CdsResponse"] == cards
    assert schemas["OperationOutcome"] == {
        k: v for k, v in OperationOutcome.model_json_schema(ref_template=ref, mode="serialization").items()
        if k != "$defs"
    }
    assert schemas["Card"]["additionalProperties"] is False  # responses are exact
    assert schemas["HookRequest"]["additionalProperties"] is True  # requests may carry more


def test_the_service_id_is_an_enum_of_this_deployments_services(document: dict[str, Any]) -> None:
    (parameter,) = document["paths"]["/cds-services/{service_id}"]["post"]["parameters"]
    assert parameter["schema"]["enum"] == ["test-service"]


def test_the_request_examples_are_served_and_the_answers_match_the_schemas(
    test_app: Flask, document: dict[str, Any]
) -> None:
    client = test_app.test_client()
    call = document["paths"]["/cds-services/{service_id}"]["post"]
    example = call["requestBody"]["content"]["application/json"]["example"]
    validator(document, {"$ref": "#/components/schemas/HookRequest"}).validate(example)
    response = client.post("/cds-services/test-service", data=orjson.dumps(example),
                           content_type="application/json")
    assert response.status_code == 200
    assert len(response.json["cards"]) == 1
    validator(document, {"$ref": "#/components/schemas/CdsResponse"}).validate(response.json)

    feedback = document["paths"]["/cds-services/{service_id}/feedback"]["post"]
    example = feedback["requestBody"]["content"]["application/json"]["example"]
    response = client.post("/cds-services/test-service/feedback", data=orjson.dumps(example),
                           content_type="application/json")
    assert response.status_code == 200
    validator(document, {"$ref": "#/components/schemas/FeedbackResponse"}).validate(response.json)


@pytest.mark.parametrize(("body", "valid"), [
    ({"fhirAuthorization": {"access_token": "t", "token_type": "Bearer", "expires_in": 1, "scope": "s",
                            "subject": "x"}}, False),
    ({"fhirServer": "https://ehr.example.org/fhir"}, True),
    ({"extension": {}}, False),
    ({"extension": {"org.example.x": 1}}, True),
])
def test_the_schema_states_the_conditional_rules_the_server_enforces(
    document: dict[str, Any], body: dict[str, Any], valid: bool
) -> None:
    request = {"hook": "patient-view", "hookInstance": "h", "context": {"userId": "u", "patientId": "p"}} | body
    assert validator(document, {"$ref": "#/components/schemas/HookRequest"}).is_valid(request) is valid
    try:
        HookRequest.model_validate(request)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted is valid


@pytest.mark.parametrize(("item", "valid"), [
    ({"outcome": "accepted"}, False),
    ({"outcome": "accepted", "acceptedSuggestions": [{"id": "s"}]}, True),
    ({"outcome": "accepted", "acceptedSuggestions": [{"id": "s"}], "overrideReason": {"userComment": "c"}}, False),
    ({"outcome": "overridden"}, True),
    ({"outcome": "overridden", "overrideReason": {}}, False),
    ({"outcome": "overridden", "overrideReason": {"userComment": "c"}}, True),
    ({"outcome": "overridden", "outcomeTimestamp": "2026-11-24T09:00:00"}, False),
    ({"outcome": "overridden", "outcomeTimestamp": "2026-11-24T09:00:0\u0661Z"}, False),  # a Unicode digit
])
def test_the_feedback_schema_agrees_with_the_server(
    document: dict[str, Any], item: dict[str, Any], valid: bool
) -> None:
    body = {"feedback": [{"card": "c", "outcomeTimestamp": "2026-11-24T09:00:00Z"} | item]}
    assert validator(document, {"$ref": "#/components/schemas/FeedbackRequest"}).is_valid(body) is valid
    try:
        FeedbackRequest.model_validate(body)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted is valid


def test_the_jwt_is_optional_only_in_development(test_app: Flask, document: dict[str, Any]) -> None:
    assert document["paths"]["/cds-services"]["get"]["security"] == [{}, {"cdsClientJwt": []}]
    definitions = test_app.extensions["nxp2_cds"].catalogue.service_definitions()
    production = openapi_document(definitions, jwt_required=True)
    for path in ("/cds-services", "/cds-services/{service_id}", "/cds-services/{service_id}/feedback"):
        (operation,) = production["paths"][path].values()
        assert operation["security"] == [{"cdsClientJwt": []}]


def test_a_production_app_serves_the_strict_variant(tmp_path: Path) -> None:
    issuers = make_trust(tmp_path).issuers()  # production refuses to start without a trusted issuer
    app = create_app(settings_for(tmp_path, mode="production", catalogue_dir=TESTS / "catalogue_for_tests",
                                  jwt_issuers=issuers), registry=TEST_REGISTRY)
    with app.test_request_context():
        from cds_service.api.operations import openapi

        body = orjson.loads(openapi().data)  # the view itself: a JWT check in front of it is not our subject
    assert body["paths"]["/cds-services"]["get"]["security"] == [{"cdsClientJwt": []}]
