"""Turn request bytes into data: msgspec decoding, typed at the boundary, and the nesting limit on the bytes.

A hook call's prefetch is decoded into `facts.wire` types: only the FHIR fields the service reads are built,
the rest (narrative, meta, performers, extensions) is skipped in C. The envelope's own fields are decoded as
sent and validated by the pydantic `HookRequest` as before (the same error messages, the same OpenAPI schema).
Other bodies (feedback, the demo's) are small and parsed whole by orjson, as before: it reads integers beyond
64 bits as floats, which the feedback store's `orjson.dumps` of each item needs (msgspec keeps them as int).

The nesting limit (400 above `CDS_MAX_JSON_DEPTH`) is checked on the bytes, ignored fields included, without
building or walking a tree in Python: `nesting_depth`.
"""

from __future__ import annotations

from typing import Any, Final, TypedDict

import msgspec
import orjson

from cds_service.api.errors import BadRequest
from cds_service.facts.wire import NotObject, Resource


class Envelope(TypedDict, total=False):
    """The CDS Hooks request as decoded: envelope fields as sent (HookRequest validates them)."""

    hook: Any
    hookInstance: Any
    context: Any
    fhirServer: Any
    fhirAuthorization: Any
    prefetch: dict[str, Resource | NotObject] | NotObject
    extension: Any


_HOOK_REQUEST: Final = msgspec.json.Decoder(Envelope | NotObject)

# nesting_depth: escapes that hide a quote or a backslash, then every byte but brackets and quotes, go first.
_KEEP: Final = b'[]{}"'
_DROP: Final = bytes(b for b in range(256) if b not in _KEEP)
_BRACKETS: Final = bytes.maketrans(b"{}", b"[]")


def nesting_depth(data: bytes, limit: int) -> int:
    """Return the nesting depth of a valid JSON text (a scalar is 0), or `limit + 1` once it is deeper.

    Bytes-level and in C: brackets inside strings are dropped (escaped backslashes and quotes first, then
    every string's content), objects count as arrays, and each pass of `bytes.replace` peels one level of
    innermost `[]` pairs. A typical FHIR body is about 10 levels deep, so about 10 passes over its brackets;
    a hostile one stops at `limit + 1` passes, or at once when it opens more than `limit` arrays in a row.
    Only meaningful for valid JSON: call it after the body decoded.
    """
    if b"\\" in data:  # memchr: most bodies have no escape at all
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = data.translate(None, _DROP)
    # Adjacent quotes either delimit an empty string or close one string and open the next (whatever
    # separated them is gone): removing both keeps every remaining quote pair around string content.
    skeleton = skeleton.replace(b'""', b"")
    if b'"' in skeleton:
        parts = skeleton.split(b'"')
        skeleton = b"".join(parts[0::2])  # even parts are outside strings
    skeleton = skeleton.translate(_BRACKETS)
    if b"[" * (limit + 1) in skeleton:
        return limit + 1
    depth = 0
    while skeleton and depth <= limit:
        skeleton = skeleton.replace(b"[]", b"")
        depth += 1
    return depth


def _too_deep(limit: int) -> BadRequest:
    return BadRequest(f"the body nests JSON deeper than {limit} levels")


def decode_hook_request(data: bytes, limit: int) -> Any:
    """Return a hook call's body with its prefetch resources typed (`facts.wire`); 400 when it is not JSON."""
    try:
        body = _HOOK_REQUEST.decode(data)
    except RecursionError:  # deeper than the interpreter's recursion limit: deeper than ours
        raise _too_deep(limit) from None
    except msgspec.DecodeError:  # ValidationError too: a number out of range, as orjson refuses it
        raise BadRequest("the body is not valid JSON") from None
    if nesting_depth(data, limit) > limit:
        raise _too_deep(limit)
    return body


def decode_json(data: bytes, limit: int) -> Any:
    """Return any JSON body as plain Python data; 400 when it is not JSON or nests deeper than `limit`."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        if "depth limit" in str(error):  # orjson's own limit (1024) is above ours
            raise _too_deep(limit) from None
        raise BadRequest("the body is not valid JSON") from None
    if nesting_depth(data, limit) > limit:
        raise _too_deep(limit)
    return body
