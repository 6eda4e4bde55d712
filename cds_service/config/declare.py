"""How a setting is declared and parsed: `setting(...)` fields and the small parsers they share.

Standard library only. A group of settings (service.py, limits.py, ...) is a frozen dataclass whose fields are
`setting(...)`s; the metadata drives `Settings.from_env`, the start-up banner and the generated documentation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


class SettingsError(ValueError):
    """A `CDS_*` variable is missing, malformed or unsafe with the others; the message names the variable."""


def setting(
    name: str, parse: Callable[[str], Any], default: Any, doc: str, show: Callable[[str], str] | None = None
) -> Any:
    """Declare a setting read from the environment variable `name`.

    `parse` turns the text into the value (ValueError on bad input); `doc` is the one sentence shown in the README
    table and deploy/.env.example; `show` turns a value into text for the banner and errors (it hides secrets).
    """
    metadata = {"env": name, "parse": parse, "doc": doc} | ({"show": show} if show else {})
    return field(default=default, metadata=metadata)


def boolean(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("expected a positive whole number")
    return value


def non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("expected zero or a positive whole number")
    return value


def positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("expected a positive number")
    return value


def words(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def base_url(raw: str) -> str:
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", raw):
        raise ValueError("expected an absolute http(s) URL without query or fragment")
    return raw.rstrip("/")


def directory(raw: str) -> Path:
    return Path(raw).expanduser()
