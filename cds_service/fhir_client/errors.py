"""Typed errors of the FHIR client: one class per way a fetch can fail, never chosen by message text.

Messages are safe to show to the caller and to log: they never hold the access token, a URL with patient
ids in it, or data from the response.
"""

from __future__ import annotations


class FhirError(Exception):
    """A FHIR request could not give usable data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FhirRefused(FhirError):
    """Our policy refused to contact this URL (not allowed for the caller, plain http, private address,
    a redirect, a `next` link to another origin)."""


class FhirUnauthorized(FhirError):
    """The FHIR server answered 401 or 403."""


class FhirNotFound(FhirError):
    """The FHIR server answered 404 or 410."""


class FhirUnavailable(FhirError):
    """The FHIR server could not be reached or answered with an error status."""


class FhirTimeout(FhirError):
    """The time budget ran out before the answer arrived."""


class FhirInvalidResponse(FhirError):
    """The answer is not a FHIR JSON resource of the kind asked for."""


class FhirTooLarge(FhirInvalidResponse):
    """The answer is larger than the configured response size limit."""
