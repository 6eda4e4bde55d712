"""Error answers written by the HTTP edge itself, before the app has a request: OperationOutcome JSON.

gunicorn answers requests it cannot parse with an HTML page (gunicorn.util.write_error, called only from
its workers' handle_error). Our worker keeps gunicorn's classification of the fault and its logging, and
writes the answer with `write_outcome`, which has the same signature, so a client gets the same kind of
error body from every layer of the service.
"""

from __future__ import annotations

from typing import Any

import orjson
from gunicorn import util

from cds_service.protocol import OperationOutcome

# Status -> FHIR IssueType code; the app's own errors use the same codes (api/errors.py).
ISSUE_CODES = {
    400: "invalid", 403: "forbidden", 408: "timeout", 413: "too-costly", 414: "too-costly", 417: "not-supported",
    431: "too-costly", 500: "exception", 501: "not-supported", 503: "transient",
}


def outcome_response(status: int, reason: str, message: str) -> bytes:
    """A complete HTTP/1.1 response carrying one OperationOutcome issue; the connection closes after it."""
    body = orjson.dumps(OperationOutcome.error(ISSUE_CODES.get(status, "processing"), message).dump())
    retry = "Retry-After: 1\r\n" if status == 503 else ""  # every 503 of the service says when to come back
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n{retry}"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def write_outcome(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """Drop-in for gunicorn.util.write_error: the same answer as JSON instead of HTML."""
    util.write_nonblock(sock, outcome_response(status_int, reason, mesg or reason))
