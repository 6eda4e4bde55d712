"""Read a JSON request body into a wire model, with the errors the spec's clients expect.

Limits (each a setting with a safe default): body size (413, Flask's MAX_CONTENT_LENGTH), JSON
nesting depth (400), prefetch keys and resources (413).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import current_app, request
from pydantic import BaseModel, ValidationError

from cds_service.api.decode import decode_hook_request, decode_json
from cds_service.api.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from cds_service.config import Settings
from cds_service.protocol import HookRequest

M = TypeVar("M", bound=BaseModel)


def json_body(decode: Callable[[bytes, int], Any] = decode_json) -> Any:
    """Return the decoded JSON body (api/decode.py): 415 for another content type, 400 when it is not JSON."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("the body must be application/json")
    return decode(request.get_data(cache=False), _settings().max_json_depth)


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def check_prefetch(prefetch: Mapping[str, Any] | None) -> None:
    """Refuse (413) a prefetch with more keys or resources (Bundle entries counted) than the settings allow."""
    if not prefetch:
        return
    settings = _settings()
    if len(prefetch) > settings.max_prefetch_keys:
        raise PayloadTooLarge(
            f"prefetch has {len(prefetch)} keys; at most {settings.max_prefetch_keys} are accepted"
        )
    total = 0
    for value in prefetch.values():
        if isinstance(value, Mapping):
            entries = value.get("entry") if value.get("resourceType") == "Bundle" else None
            total += len(entries) if isinstance(entries, list) else 1
    if total > settings.max_prefetch_resources:
        raise PayloadTooLarge(
            f"prefetch holds {total} resources; at most {settings.max_prefetch_resources} are accepted"
        )


def parse(model: type[M]) -> M:
    """Return the body validated as `model`; 400 naming the first invalid field."""
    # A hook call's prefetch is decoded typed: only the FHIR fields the service reads (facts/wire.py).
    body = json_body(decode_hook_request if model is HookRequest else decode_json)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise BadRequest(f"{where}: {first['msg']}") from None
