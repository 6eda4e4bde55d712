"""Read a JSON request body into a wire model, with the errors the spec's clients expect.

Limits (each a setting with a safe default): body size (413, Flask's MAX_CONTENT_LENGTH), JSON
nesting depth (400), prefetch keys and resources (413).
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain, compress
from typing import Any, TypeVar

import orjson
from flask import current_app, request
from pydantic import BaseModel, ValidationError

from cds_service.api.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from cds_service.config import Settings

M = TypeVar("M", bound=BaseModel)
CONTAINERS = frozenset({dict, list})


def json_body() -> Any:
    """Return the parsed JSON body: 415 for another content type, 400 when it is not JSON."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("the body must be application/json")
    limit = _settings().max_json_depth
    try:
        body = orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError as error:
        if "depth limit" in str(error):  # orjson's own limit (1024) is above ours
            raise BadRequest(f"the body nests JSON deeper than {limit} levels") from None
        raise BadRequest("the body is not valid JSON") from None
    if json_depth(body, limit) > limit:
        raise BadRequest(f"the body nests JSON deeper than {limit} levels")
    return body


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def json_depth(value: Any, limit: int) -> int:
    """Return the nesting depth of parsed JSON (a scalar is 0), stopping once it exceeds `limit`.

    For JSON as orjson parses it: containers are exactly `dict` and `list`. Iterative, so a deep document
    cannot exhaust Python's stack. Level by level, each level's children gathered and filtered by
    itertools in C: a node-by-node walk in Python took a third of a 500-Observation call (docs/performance.md).
    """
    level = [value] if type(value) in CONTAINERS else []
    depth = 0
    while level and depth <= limit:
        depth += 1
        children = list(chain.from_iterable(node.values() if type(node) is dict else node for node in level))
        level = list(compress(children, map(CONTAINERS.__contains__, map(type, children))))
    return depth


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
    body = json_body()
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise BadRequest(f"{where}: {first['msg']}") from None
