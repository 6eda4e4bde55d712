"""Small typed readers of FHIR JSON: every field is type-checked before use (a server or client may send anything).

Hand-written dict walking on purpose (style-guide principle 8, terminology.md section 5): validating every
resource with fhir.resources costs about 35 times the JSON parse and FHIRPath about 400 times a dict walk, so
the request path reads the few fields it needs from the orjson dicts, with exact `isinstance(x, dict)` checks:
orjson gives dicts, and a check against the Mapping ABC costs several times more.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import datetime
from typing import Any, Final, TypeVar

from cds_service.facts.dates import parse_datetime

T = TypeVar("T")
UCUM: Final = "http://unitsofmeasure.org"


def as_str(value: Any) -> str:
    """The value when it is a string, else ""."""
    return value if isinstance(value, str) else ""


def as_number(value: Any) -> float | None:
    """Return a finite JSON number as float; booleans, strings and huge integers are not numbers."""
    # Why the exact-type tests first: a reference range reads two numbers per Observation, and the parsers give
    # exact floats and ints; the isinstance checks below, for anything else, cost three times as much.
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int:
        try:
            return float(value)  # finite unless it overflows
        except OverflowError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        found = float(value)
    except OverflowError:
        return None
    return found if math.isfinite(found) else None


def as_list(value: Any) -> list[Any]:
    """The value when it is a JSON array, else []."""
    return value if isinstance(value, list) else []


def as_object(value: Any) -> Mapping[str, Any] | None:
    """The value when it is a JSON object, else None."""
    return value if isinstance(value, dict) else None


def codings(codeable: Any) -> list[tuple[str, str, str]]:
    """Return (system, code, display) of each coding of a CodeableConcept."""
    if not isinstance(codeable, dict):
        return []
    found = []
    for coding in as_list(codeable.get("coding")):
        if isinstance(coding, dict):
            found.append((as_str(coding.get("system")), as_str(coding.get("code")), as_str(coding.get("display"))))
    return found


def text_of(codeable: Any) -> str:
    """Return the human text of a CodeableConcept: its text, else the first display or code."""
    if not isinstance(codeable, dict):
        return codeable if isinstance(codeable, str) else ""
    shown = codeable.get("text")
    if isinstance(shown, str) and shown:
        return shown
    for coding in as_list(codeable.get("coding")):
        if isinstance(coding, dict):
            shown = as_str(coding.get("display")) or as_str(coding.get("code"))
            if shown:
                return shown
    return ""


def status_code(codeable: Any) -> str:
    """Return the code of a status CodeableConcept (or of an STU3-style plain string)."""
    if isinstance(codeable, str):
        return codeable
    if not isinstance(codeable, dict):
        return ""
    for coding in as_list(codeable.get("coding")):
        if isinstance(coding, dict):
            code = coding.get("code")
            if isinstance(code, str) and code:
                return code
    return ""


def period_start(period: Any) -> datetime | None:
    """Start of a Period, else its end."""
    if not isinstance(period, dict):
        return None
    return parse_datetime(period.get("start")) or parse_datetime(period.get("end"))


def effective(resource: Mapping[str, Any]) -> datetime | None:
    """Return effective[x] of an Observation or DiagnosticReport: dateTime, instant, or Period start/end."""
    return (
        parse_datetime(resource.get("effectiveDateTime"))
        or period_start(resource.get("effectivePeriod"))
        or parse_datetime(resource.get("effectiveInstant"))
    )


def quantity_unit(quantity: Mapping[str, Any]) -> str:
    """The UCUM code when the system is UCUM, else the unit text (terminology.md section 4a)."""
    code = quantity.get("code")
    if quantity.get("system") == UCUM and isinstance(code, str) and code:
        return code
    unit = quantity.get("unit")
    if isinstance(unit, str):
        return unit
    return code if isinstance(code, str) else ""


def fmt(value: float) -> str:
    return f"{value:g}"


def fast_constructor(cls: type[T]) -> Callable[..., T]:
    """Return a positional constructor for a frozen dataclass that fills the instance dict directly.

    Why: a frozen dataclass sets each field through object.__setattr__, which for LabResult's 11 fields is about
    1.5 us, a quarter of the time per Observation. The object is the same (frozen, equal and hashed like one
    built by the class; tests/unit/facts/test_labs.py checks it). The constructor's source is generated from the
    field names, as `dataclasses` generates `__init__`: one dict store per field costs half of updating the dict
    from a zip of names and values (0.3 against 1.0 us for ResourceRef, 0.6 against 1.4 us for LabResult). A
    class with __slots__ or __post_init__ falls back to its own constructor.
    """
    if "__slots__" in vars(cls) or hasattr(cls, "__post_init__"):
        return cls
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    arguments = ", ".join(f"_{index}" for index in range(len(names)))
    stores = "".join(f"    fields[{name!r}] = _{index}\n" for index, name in enumerate(names))
    source = (
        f"def construct({arguments}):\n    instance = new(cls)\n    fields = instance.__dict__\n{stores}"
        "    return instance\n"
    )
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    exec(source, namespace)  # noqa: S102 - the source is built from the dataclass's own field names only
    construct: Callable[..., T] = namespace["construct"]
    return construct
