"""Read a JSON request body into a wire model, with the errors the spec's clients expect."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from flask import request
from pydantic import BaseModel, ValidationError

from cds_service.api.errors import BadRequest, UnsupportedMediaType

M = TypeVar("M", bound=BaseModel)


def json_body() -> Any:
    """Return the parsed JSON body: 415 for another content type, 400 when it is not JSON."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("the body must be application/json")
    try:
        return orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not valid JSON") from None


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
