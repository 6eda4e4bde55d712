"""Resolve each prefetch template of a service to FHIR data: use what the client sent, fetch the rest.

First version: uses the prefetch that was sent and raises `PrefetchUnavailable` for a missing required
key. The facts issue (#4) adds fetching from `fhirServer`, paging and OperationOutcome handling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cds_service.hooks.errors import PrefetchUnavailable


@dataclass(frozen=True)
class ResolvedData:
    """The resources obtained for one request."""

    patient: Mapping[str, Any]
    resources: tuple[Mapping[str, Any], ...]
    unavailable: tuple[str, ...]


def _entries(value: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if value.get("resourceType") != "Bundle":
        return [value]
    entries = value.get("entry")
    if not isinstance(entries, list):  # a malformed Bundle is data we cannot use, not a crash
        return []
    return [
        entry["resource"]
        for entry in entries
        if isinstance(entry, Mapping) and isinstance(entry.get("resource"), Mapping)
    ]


def resolve(
    templates: Mapping[str, str], required: list[str], prefetch: Mapping[str, Any] | None
) -> ResolvedData:
    """Return the patient and resources for the templates, from the prefetch that was sent.

    Raises:
        PrefetchUnavailable: when the Patient or a required key cannot be had.
    """
    sent = prefetch or {}
    resources: list[Mapping[str, Any]] = []
    unavailable: list[str] = []
    patient: Mapping[str, Any] | None = None
    for key in templates:
        if key not in sent:
            if key in required:
                raise PrefetchUnavailable(key, "not in prefetch and no FHIR server to fetch it from")
            unavailable.append(key)
            continue
        value = sent[key]
        if value is None:
            continue
        for resource in _entries(value):
            if resource.get("resourceType") == "Patient":
                patient = resource
            else:
                resources.append(resource)
    if patient is None:
        raise PrefetchUnavailable("patient", "no Patient resource was received")
    return ResolvedData(patient=patient, resources=tuple(resources), unavailable=tuple(unavailable))
