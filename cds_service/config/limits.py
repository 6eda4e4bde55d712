"""Limits on what one request may carry: body size, JSON depth, prefetch size.

Each is checked before the work it bounds, and answered with a 4xx OperationOutcome past it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cds_service.config.declare import positive_int, setting


@dataclass(frozen=True)
class RequestLimits:
    TITLE: ClassVar[str] = "Request limits"

    max_body_bytes: int = setting(
        "CDS_MAX_BODY_BYTES", positive_int, 5_000_000, "Largest request body accepted (413 above it).",
    )
    max_json_depth: int = setting(
        "CDS_MAX_JSON_DEPTH", positive_int, 64, "Deepest JSON nesting accepted in a request body (400 above it).",
    )
    max_prefetch_keys: int = setting(
        "CDS_MAX_PREFETCH_KEYS", positive_int, 32, "Most prefetch keys accepted in one request (413 above it).",
    )
    max_prefetch_resources: int = setting(
        "CDS_MAX_PREFETCH_RESOURCES", positive_int, 10_000,
        "Most FHIR resources accepted in one request's prefetch, Bundle entries counted (413 above it).",
    )
