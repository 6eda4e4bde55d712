"""The OpenAPI 3.1 description of this deployment, built from the pydantic wire models (one source of truth).

Request schemas are the models in validation mode (what we accept), response schemas in serialization mode
(what we send). The service id is an enum of the ids this deployment serves, read from the catalogue.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from cds_service.protocol import (
    CdsResponse,
    DiscoveryResponse,
    FeedbackRequest,
    FeedbackResponse,
    Health,
    HookRequest,
    OperationOutcome,
    ServiceDefinition,
)

REF = "#/components/schemas/{model}"

# Status -> (response name, when it happens). Every error body is an OperationOutcome.
ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The body is not JSON, not an object, breaks a CDS Hooks rule (the issue names the field), "
                        "or the service does not serve this hook."),
    401: ("Unauthorized", "The CDS Client's JWT is missing or was not accepted; no detail is given."),
    404: ("NotFound", "No CDS service has this id (or the path does not exist)."),
    405: ("MethodNotAllowed", "The method is not allowed on this path; the Allow header lists those that are."),
    412: ("PreconditionFailed", "Data the service needs is neither in prefetch nor obtainable from the FHIR "
                                "server; the issue names the prefetch key."),
    413: ("PayloadTooLarge", "The body is larger than CDS_MAX_BODY_BYTES."),
    415: ("UnsupportedMediaType", "The body is not application/json."),
    500: ("InternalError", "Internal error, with no detail; for feedback, nothing was stored and it can be sent "
                           "again."),
}


def _schemas(models: list[tuple[type[BaseModel], JsonSchemaMode]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return {(model, mode): reference} and the component schemas for the models."""
    refs, document = models_json_schema(models, ref_template=REF)
    return {model.__name__ + mode: ref for (model, mode), ref in refs.items()}, document.get("$defs", {})


def _version() -> str:
    try:
        return metadata.version("nxp2-cds")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "0.0.0"


def _json(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def _responses(ok: tuple[int, str, dict[str, Any]], errors: list[int]) -> dict[str, Any]:
    status, description, schema = ok
    responses: dict[str, Any] = {str(status): {"description": description, "content": _json(schema)}}
    for code in errors:
        responses[str(code)] = {"$ref": f"#/components/responses/{ERRORS[code][0]}"}
    return responses


def example_request(definition: ServiceDefinition) -> dict[str, Any]:
    """Return a small valid call of the service: a patient and an empty searchset per search template."""
    prefetch: dict[str, Any] = {}
    for key, template in (definition.prefetch or {}).items():
        if template.startswith("Patient/"):
            prefetch[key] = {"resourceType": "Patient", "id": "example", "birthDate": "1950-03-04",
                             "gender": "female"}
        else:
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    body: dict[str, Any] = {
        "hook": definition.hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/example", "patientId": "example"},
    }
    if prefetch:
        body["prefetch"] = prefetch
    return body


EXAMPLE_FEEDBACK = {
    "feedback": [{
        "card": "00000000-0000-4000-8000-000000000002",
        "outcome": "overridden",
        "overrideReason": {"reason": {"system": "urn:nxp2-cds:override-reason", "code": "not-appropriate"}},
        "outcomeTimestamp": "2026-11-24T09:05:00Z",
    }]
}


def _evidence_paths(card_ids: list[str]) -> dict[str, Any]:
    """The evidence pages: public HTML from the catalogue, no JWT, cacheable for a day."""
    html = {"text/html": {"schema": {"type": "string"}}}
    return {
        "/evidence/{card_id}": {"get": {
            "operationId": "evidencePage", "tags": ["Evidence"], "security": [{}],
            "summary": "The evidence and caveats page of one card kind (every card links it): who the card is "
                       "for and why, the full advice, every evidence row with its table or section and grading, "
                       "caveats, what the card does not do, and the catalogue review date. No patient data.",
            "parameters": [{
                "name": "card_id", "in": "path", "required": True,
                "description": "A card id, as in a card's source.topic.code.",
                "schema": {"type": "string", "enum": card_ids},
            }],
            "responses": {
                "200": {"description": "The page (Cache-Control public, max-age 86400, with an ETag).",
                        "content": html},
                "304": {"description": "Not modified since the ETag sent in If-None-Match."},
                "404": {"description": "No card has this id: an HTML page saying so.", "content": html},
            },
        }},
        "/evidence": {"get": {
            "operationId": "evidenceIndex", "tags": ["Evidence"], "security": [{}],
            "summary": "The list of every card kind's evidence page.",
            "responses": {"200": {"description": "The list.", "content": html}},
        }},
    }


def openapi_document(
    definitions: list[ServiceDefinition],
    *,
    jwt_required: bool = True,
    base_url: str | None = None,
    card_ids: list[str] | None = None,
) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document for a deployment serving `definitions` (and `card_ids`) at `base_url`."""
    refs, schemas = _schemas([
        (HookRequest, "validation"), (FeedbackRequest, "validation"),
        (DiscoveryResponse, "serialization"), (CdsResponse, "serialization"),
        (FeedbackResponse, "serialization"), (Health, "serialization"), (OperationOutcome, "serialization"),
    ])
    service_ids = [definition.id for definition in definitions]
    # A hook no service here serves is a 400: say so in the schema, so schema-valid requests are served.
    if definitions:
        schemas["HookRequest"]["properties"]["hook"]["enum"] = sorted({d.hook for d in definitions})
    service_id = {
        "name": "service_id", "in": "path", "required": True,
        "description": "The id of a CDS service, from the discovery response.",
        "schema": {"type": "string", "enum": service_ids},
    }
    # In development the JWT may be left out (CDS_MODE=development), so the requirement is optional.
    security: list[dict[str, list[str]]] = [{"cdsClientJwt": []}] if jwt_required else [{}, {"cdsClientJwt": []}]
    example_call = example_request(definitions[0]) if definitions else None
    paths: dict[str, Any] = {
        "/cds-services": {"get": {
            "operationId": "discover", "tags": ["CDS Hooks"], "security": security,
            "summary": "List the CDS services this server hosts (CDS Hooks 2.0 discovery).",
            "responses": _responses((200, "The discovery document.", refs["DiscoveryResponseserialization"]),
                                    [401, 405, 500]),
        }},
        "/cds-services/{service_id}": {"post": {
            "operationId": "callService", "tags": ["CDS Hooks"], "security": security,
            "summary": "Call a CDS service with a hook request; answer with cards ([] when there is no advice).",
            "parameters": [service_id],
            "requestBody": {"required": True, "content": _json(refs["HookRequestvalidation"], example_call)},
            "responses": _responses((200, "The cards, most urgent first.", refs["CdsResponseserialization"]),
                                    [400, 401, 404, 405, 412, 413, 415, 500]),
        }},
        "/cds-services/{service_id}/feedback": {"post": {
            "operationId": "sendFeedback", "tags": ["CDS Hooks"], "security": security,
            "summary": "Record what the clinician did with cards; each item is stored once, unknown cards are "
                       "stored and counted in unknownCards.",
            "parameters": [service_id],
            "requestBody": {"required": True, "content": _json(refs["FeedbackRequestvalidation"], EXAMPLE_FEEDBACK)},
            "responses": _responses((200, "What was stored.", refs["FeedbackResponseserialization"]),
                                    [400, 401, 404, 405, 413, 415, 500]),
        }},
        "/healthz": {"get": {
            "operationId": "health", "tags": ["Operations"],
            "summary": "Report whether the process can serve (its feedback store answers).",
            "responses": {
                **_responses((200, "Healthy.", refs["Healthserialization"]), [405, 500]),
                "503": {"description": "A dependency is unreachable.", "content": _json(refs["Healthserialization"])},
            },
        }},
        "/metrics": {"get": {
            "operationId": "metrics", "tags": ["Operations"],
            "summary": "Prometheus metrics of all workers (404 when CDS_METRICS=false).",
            "responses": {
                "200": {"description": "Prometheus text exposition format.",
                        "content": {"text/plain": {"schema": {"type": "string"}}}},
                **_responses((404, "Metrics are switched off.", refs["OperationOutcomeserialization"]), [405, 500]),
            },
        }},
        "/openapi.json": {"get": {
            "operationId": "openapi", "tags": ["Operations"],
            "summary": "This document.",
            "responses": _responses((200, "The OpenAPI 3.1 description.", {"type": "object"}), [405, 500]),
        }},
        **_evidence_paths(card_ids or []),
    }
    outcome = refs["OperationOutcomeserialization"]
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "nxp2-cds",
            "version": _version(),
            "description": "CDS Hooks 2.0 service for anti-NXP2 antibody-positive myositis (patient-view, "
                           "advisory cards only). Error bodies are FHIR OperationOutcome resources.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                name: {"description": description, "content": _json(outcome)}
                for name, description in ERRORS.values()
            },
            "securitySchemes": {"cdsClientJwt": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "The CDS Client's signed JWT (CDS Hooks 2.0, Trusting CDS Clients).",
            }},
        },
    }
    if base_url:
        document["servers"] = [{"url": base_url}]
    return document

