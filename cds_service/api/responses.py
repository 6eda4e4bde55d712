"""JSON responses serialised with orjson (faster than Flask's encoder for large card lists)."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")
