"""Limits on what one request may carry and how long it may take to arrive: body size, JSON depth,
prefetch size, feedback items, header and body deadlines.

Each is checked before the work it bounds, and answered with a 4xx OperationOutcome past it. The size and
time of a request on the wire are enforced by the worker's event loop (cds_service/edge), the rest by the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cds_service.config.declare import positive_float, positive_int, setting


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
    oversize_drain_bytes: int = setting(
        "CDS_OVERSIZE_DRAIN_BYTES", positive_int, 20_000_000,
        "How much of a body over CDS_MAX_BODY_BYTES is read and thrown away before the 413 is sent, so that "
        "clients that send the whole body first can read it; past this the connection is closed.",
    )
    header_timeout_s: float = setting(
        "CDS_HEADER_TIMEOUT_S", positive_float, 10.0,
        "Longest time for a request's line and headers to arrive, from the connection or its first byte (408).",
    )
    body_timeout_s: float = setting(
        "CDS_BODY_TIMEOUT_S", positive_float, 30.0,
        "Longest time for a request's whole body to arrive once its headers have (408 past it).",
    )
    max_feedback_items: int = setting(
        "CDS_MAX_FEEDBACK_ITEMS", positive_int, 100, "Most feedback items accepted in one request (413 above it).",
    )
    unknown_feedback_per_minute: int = setting(
        "CDS_UNKNOWN_FEEDBACK_PER_MINUTE", positive_int, 120,
        "Feedback items for cards this service never issued accepted per caller per minute and worker (429 "
        "above it).",
    )
