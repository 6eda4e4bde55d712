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
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

NonEmpty = Annotated[str, StringConstraints(min_length=1)]
# Absolute http(s) URLs only: the spec requires absolute URLs for source, link and icon.
AbsoluteUrl = Annotated[str, StringConstraints(min_length=1, pattern=r"^https?://[^\s]+$")]

RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"


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


Extension = Annotated[dict[str, Any] | None, AfterValidator(_no_empty_object)]


# --- Request -------------------------------------------------------------------------------------------


class FhirAuthorization(WireModel):
    access_token: NonEmpty
    token_type: Literal["Bearer"]
    expires_in: int = Field(ge=0)
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

    hook: NonEmpty
    hookInstance: NonEmpty
    context: PatientViewContext
    fhirServer: AbsoluteUrl | None = None
    fhirAuthorization: FhirAuthorization | None = None
    # A prefetch value may be a resource, a Bundle, an OperationOutcome or null (asked, no data).
    prefetch: dict[str, dict[str, Any] | None] | None = None
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
    reason: ReasonCoding | None = None
    userComment: NonEmpty | None = None

    @model_validator(mode="after")
    def _reason_or_comment(self) -> OverrideReasonFeedback:
        if self.reason is None and self.userComment is None:
            raise ValueError("overrideReason needs a reason, a userComment, or both")
        return self


class FeedbackItem(WireModel):
    card: NonEmpty
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: Annotated[list[AcceptedSuggestion], Field(min_length=1)] | None = None
    overrideReason: OverrideReasonFeedback | None = None
    outcomeTimestamp: Annotated[str, StringConstraints(pattern=RFC3339)]

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
