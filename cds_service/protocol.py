"""Pydantic models of the CDS Hooks 2.0 wire format, with the spec's constraints enforced.

Imports pydantic only: no Flask, no fhir.resources, nothing else from the package. Optional fields are
`None` in Python and are dropped on output (`dump`), so the JSON never carries null or empty values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict

NonEmpty = Annotated[str, StringConstraints(min_length=1)]
# Absolute http(s) URLs only: the spec requires absolute URLs for source, link and icon. Patterns use only
# ASCII classes, so Python and the JSON Schema (ECMA-262) readers agree: Python's \s and \d also match
# Unicode spaces and digits.
URL_PATTERN = r"^https?://[!-~]+$"
AbsoluteUrl = Annotated[str, StringConstraints(min_length=1, pattern=URL_PATTERN)]

RFC3339 = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"


def _json_integer(value: Any) -> Any:
    """Take a JSON integer as JSON Schema defines it (3.0 and 1e23 are integers), but not true or "3"."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# orjson reads integers beyond 64 bits as floats, hence the conversion before the strict check.
JsonInt = Annotated[int, BeforeValidator(_json_integer), Field(strict=True)]


def _no_empty_object(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and not value:
        raise ValueError("must not be an empty object")
    return value


class WireModel(BaseModel):
    """Base of every wire model: unknown fields kept on requests, optional fields omitted on output."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


class OutModel(WireModel):
    """Base of what we send: no extra fields, so the schema is exact."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


Extension = Annotated[
    dict[str, Any] | None,
    AfterValidator(_no_empty_object),
    WithJsonSchema({"anyOf": [{"type": "object", "minProperties": 1}, {"type": "null"}]}),
]

# The spec's conditional rules, also written into the JSON Schema (OpenAPI) so that the published schema
# accepts exactly what the validators below accept.
SERVER_WITH_TOKEN: JsonDict = {"anyOf": [
    {"required": ["fhirServer"], "properties": {"fhirServer": {"type": "string"}}},
    {"properties": {"fhirAuthorization": {"type": "null"}}},
]}
REASON_OR_COMMENT: JsonDict = {"anyOf": [
    {"required": ["reason"], "properties": {"reason": {"type": "object"}}},
    {"required": ["userComment"], "properties": {"userComment": {"type": "string"}}},
]}
ACCEPTED_WITH_SUGGESTIONS: JsonDict = {"anyOf": [
    {"properties": {"outcome": {"const": "overridden"}}},
    {"required": ["acceptedSuggestions"],
     "properties": {"acceptedSuggestions": {"type": "array"}, "overrideReason": {"type": "null"}}},
]}


# --- Request -------------------------------------------------------------------------------------------


# RFC 6750 section 2.1 b64token: the only characters a bearer token may have in an Authorization header.
BearerToken = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-._~+/]+=*$", max_length=8192)]


class FhirAuthorization(WireModel):
    access_token: BearerToken
    token_type: Literal["Bearer"]
    expires_in: JsonInt = Field(ge=0)
    scope: NonEmpty
    subject: NonEmpty
    patient: NonEmpty | None = None

    def __repr__(self) -> str:  # never let the token reach a log line through a repr
        return "FhirAuthorization(access_token=<redacted>)"

    __str__ = __repr__


# A FHIR logical id (FHIR R4 datatypes, id): what `Patient/{{context.patientId}}` needs to be a valid read.
FhirId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-.]{1,64}$")]


class PatientViewContext(WireModel):
    userId: NonEmpty
    patientId: FhirId
    encounterId: NonEmpty | None = None


class HookRequest(WireModel):
    """The body of `POST /cds-services/{id}`."""

    model_config = ConfigDict(json_schema_extra=SERVER_WITH_TOKEN)

    hook: NonEmpty
    hookInstance: NonEmpty
    context: PatientViewContext
    fhirServer: AbsoluteUrl | None = None
    fhirAuthorization: FhirAuthorization | None = None
    # A prefetch value may be a resource, a Bundle, an OperationOutcome or null (asked, no data).
    prefetch: dict[str, dict[str, Any] | None] | None = Field(default=None, description=(
        "Data the CDS Client fetched for the service's prefetch templates. When prefetch is null or absent, "
        "or a key the service needs is missing or null, that data is fetched from fhirServer; without "
        "fhirServer the call ends in 412 (PreconditionFailed)."))
    extension: Extension = None

    @model_validator(mode="after")
    def _server_with_token(self) -> HookRequest:
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirServer is required when fhirAuthorization is present")
        return self


# --- Response ------------------------------------------------------------------------------------------


class Coding(OutModel):
    system: NonEmpty
    code: NonEmpty
    display: NonEmpty | None = None


class OverrideReason(OutModel):
    """A Coding whose display is required (spec: the service MUST give a display)."""

    system: NonEmpty
    code: NonEmpty
    display: NonEmpty


class Source(OutModel):
    label: NonEmpty
    url: AbsoluteUrl | None = None
    icon: AbsoluteUrl | None = None
    topic: Coding | None = None


class Link(OutModel):
    label: NonEmpty
    url: AbsoluteUrl
    type: Literal["absolute", "smart"]
    appContext: NonEmpty | None = None


class Action(OutModel):
    type: Literal["create", "update", "delete"]
    description: NonEmpty
    resource: dict[str, Any] | None = None
    resourceId: NonEmpty | None = None


class Suggestion(OutModel):
    label: NonEmpty
    uuid: NonEmpty | None = None
    isRecommended: bool | None = None
    actions: Annotated[list[Action], Field(min_length=1)] | None = None


class Card(OutModel):
    uuid: NonEmpty | None = None
    summary: Annotated[str, StringConstraints(min_length=1, max_length=139)]
    detail: NonEmpty | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: Annotated[list[Suggestion], Field(min_length=1)] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: Annotated[list[OverrideReason], Field(min_length=1)] | None = None
    links: Annotated[list[Link], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _selection_with_suggestions(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is required when suggestions are present")
        return self


class CdsResponse(OutModel):
    cards: list[Card]


class ServiceDefinition(OutModel):
    hook: NonEmpty
    id: NonEmpty
    title: NonEmpty | None = None
    description: NonEmpty
    usageRequirements: NonEmpty | None = None
    prefetch: dict[str, NonEmpty] | None = None


class DiscoveryResponse(OutModel):
    services: list[ServiceDefinition]


# --- Feedback ------------------------------------------------------------------------------------------


class AcceptedSuggestion(WireModel):
    id: NonEmpty


class ReasonCoding(WireModel):
    """The sandbox sends an override reason with code and system only: display is optional here."""

    system: NonEmpty
    code: NonEmpty
    display: NonEmpty | None = None


class OverrideReasonFeedback(WireModel):
    model_config = ConfigDict(json_schema_extra=REASON_OR_COMMENT)

    reason: ReasonCoding | None = None
    userComment: NonEmpty | None = None

    @model_validator(mode="after")
    def _reason_or_comment(self) -> OverrideReasonFeedback:
        if self.reason is None and self.userComment is None:
            raise ValueError("overrideReason needs a reason, a userComment, or both")
        return self


class FeedbackItem(WireModel):
    model_config = ConfigDict(json_schema_extra=ACCEPTED_WITH_SUGGESTIONS)

    card: NonEmpty
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: Annotated[list[AcceptedSuggestion], Field(min_length=1)] | None = None
    overrideReason: OverrideReasonFeedback | None = None
    outcomeTimestamp: Annotated[
        str, StringConstraints(pattern=RFC3339), Field(json_schema_extra={"format": "date-time"})
    ]

    @field_validator("outcomeTimestamp")
    @classmethod
    def _real_instant(cls, value: str) -> str:
        datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
        return value

    @model_validator(mode="after")
    def _accepted_needs_suggestions(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is required when outcome is accepted")
        if self.outcome == "accepted" and self.overrideReason is not None:
            raise ValueError("overrideReason only goes with outcome overridden")
        return self


class FeedbackRequest(WireModel):
    feedback: Annotated[list[FeedbackItem], Field(min_length=1)]


class FeedbackResponse(OutModel):
    stored: int = Field(description="Items newly stored by this request.")
    duplicates: int = Field(description="Items already stored before (the same item sent again).")
    unknownCards: int = Field(description="Items for a card uuid this service never issued (stored, marked).")


# --- Errors --------------------------------------------------------------------------------------------


class Issue(OutModel):
    severity: Literal["fatal", "error", "warning", "information"]
    code: NonEmpty = Field(description="FHIR IssueType code, e.g. invalid, not-found, incomplete, login.")
    diagnostics: NonEmpty


class OperationOutcome(OutModel):
    """The body of every error response (FHIR R4 OperationOutcome, reduced to what we send)."""

    resourceType: Literal["OperationOutcome"]
    issue: Annotated[list[Issue], Field(min_length=1)]

    @classmethod
    def error(cls, code: str, message: str) -> OperationOutcome:
        """One error issue: what the app and the HTTP edge (cds_service/edge) both answer with."""
        return cls(resourceType="OperationOutcome",
                   issue=[Issue(severity="error", code=code, diagnostics=message or "error")])


# --- Operations ----------------------------------------------------------------------------------------


class Health(OutModel):
    """The `/healthz` body: 200 when every dependency answers, 503 otherwise."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, Literal["ok", "unreachable"]]
