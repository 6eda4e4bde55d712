"""Domain exceptions of the service layer; `api/errors.py` maps each to one HTTP status."""

from __future__ import annotations


class UnknownService(LookupError):
    """No service has this id (404)."""


class UnsupportedHook(ValueError):
    """The service exists but does not serve this hook (400)."""


class PrefetchUnavailable(RuntimeError):
    """Data the service needs could not be had from prefetch or the FHIR server (412)."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"prefetch key {key!r} could not be obtained: {reason}")
        self.key = key
        self.reason = reason


class FeedbackNotStored(RuntimeError):
    """The feedback store failed; the request must fail loudly (500), never drop feedback."""
