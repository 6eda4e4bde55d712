"""value[x] of an Observation or component: a number in the concept's canonical unit, or a positivity.

A value that could be on either side of a threshold never acts: an unknown unit, a missing number, or a value
reported as a limit (`<5`, `>1500`, through `valueQuantity.comparator` or a string) is returned with its
problem, and the caller keeps the result unusable and lists the problem in `issues`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from cds_service.facts import positivity as pos
from cds_service.facts import units
from cds_service.facts.fhir_json import as_list, as_number, as_str, codings, fmt, quantity_unit, text_of
from cds_service.facts.model import Positivity
from cds_service.facts.valuesets import QuantityCutoffs

COMPARATORS: Final = frozenset({"<", "<=", ">=", ">"})


def read_quantity(
    concept: str, holder: Mapping[str, Any]
) -> tuple[float | None, str, str | None, units.Conversion | None, str]:
    """Return (canonical value, value as sent, problem, conversion, unit as sent) of a numeric result."""
    quantity = holder.get("valueQuantity")
    if isinstance(quantity, dict):
        unit = quantity_unit(quantity)
        raw = quantity.get("value")
        # float/int checked by exact type: bool is not a number here, and a huge int fails float() below.
        number = raw if type(raw) is float and math.isfinite(raw) else as_number(raw)
        comparator = quantity.get("comparator")
        shown_unit = quantity.get("unit")
        if not isinstance(shown_unit, str) or not shown_unit:
            shown_unit = unit
        conversion = units.conversion(concept, unit)
        if number is not None and comparator is None and conversion is not None:  # the common case
            value = conversion.apply(number)
            if math.isfinite(value):
                return value, f"{number:g} {shown_unit}" if shown_unit else f"{number:g}", None, conversion, unit
        comparator = as_str(comparator)
        display = f"{comparator}{fmt(number) if number is not None else '?'} {shown_unit}".strip()
        if number is None:
            return None, display, "no numeric value", conversion, unit
        if comparator in COMPARATORS:
            return None, display, f"value reported as a limit ({comparator}{fmt(number)})", conversion, unit
        if comparator:
            return None, display, f"unknown comparator '{comparator[:20]}'", conversion, unit
        if conversion is None:
            return None, display, f"unknown unit '{unit[:40]}'" if unit else "no unit", None, unit
        return None, display, "no value", None, unit
    if concept == "ana":
        titre = _titre(holder)
        if titre is not None:
            return titre, f"1:{fmt(titre)}", None, units.SAME, ""
    text = holder.get("valueString")
    if isinstance(text, str):
        shown = text.strip()[:40]
        if shown[:1] in "<>":
            return None, shown, f"value reported as a limit ({shown})", None, ""
        return None, shown, f"value is text, not a number with a unit ('{shown}')", None, ""
    absent = text_of(holder.get("dataAbsentReason"))
    if absent:
        return None, "", f"no value ({absent[:40]})", None, ""
    return None, "", "no value", None, ""


def reference_range(
    concept: str, ranges: Any, value_conversion: units.Conversion, value_unit: str
) -> tuple[float | None, float | None]:
    """Return the first referenceRange in the canonical unit (a limit in an unknown unit is dropped)."""
    first = ranges[0] if isinstance(ranges, list) else None
    if not isinstance(first, dict):
        return None, None
    return (
        limit_value(concept, first.get("low"), value_conversion, value_unit),
        limit_value(concept, first.get("high"), value_conversion, value_unit),
    )


def limit_value(concept: str, limit: Any, value_conversion: units.Conversion, value_unit: str) -> float | None:
    """Return one limit of a referenceRange in the canonical unit (None: no number, or an unknown unit)."""
    if not isinstance(limit, dict):
        return None
    raw = limit.get("value")
    number = raw if type(raw) is float and math.isfinite(raw) else as_number(raw)
    if number is None:
        return None
    if limit.get("code") == value_unit or limit.get("unit") == value_unit:
        conversion: units.Conversion | None = value_conversion  # the usual case: the value's own unit
    else:
        unit = quantity_unit(limit)
        conversion = value_conversion if not unit else units.conversion(concept, unit)
    return conversion.apply(number) if conversion is not None else None


def _titre(holder: Mapping[str, Any]) -> float | None:
    """Return N of an ANA titre sent as "1:N" (valueString) or as a Ratio 1/N."""
    text = holder.get("valueString")
    if isinstance(text, str):
        head, _, tail = text.strip().partition(":")
        if head.strip() == "1" and tail.strip().isdigit():
            return float(tail.strip())
        return None
    ratio = holder.get("valueRatio")
    if isinstance(ratio, dict):
        numerator, denominator = ratio.get("numerator"), ratio.get("denominator")
        top = as_number(numerator.get("value")) if isinstance(numerator, dict) else None
        bottom = as_number(denominator.get("value")) if isinstance(denominator, dict) else None
        if top == 1 and bottom is not None and bottom > 0:
            return bottom
    return None


# --- positivity (antibodies, coded findings) ---------------------------------------------------------------


def has_value(holder: Mapping[str, Any]) -> bool:
    return any(
        key in holder
        for key in ("valueCodeableConcept", "valueString", "valueBoolean", "valueQuantity", "interpretation",
                    "dataAbsentReason")
    )


def read_positivity(
    holder: Mapping[str, Any], cutoffs: QuantityCutoffs | None
) -> tuple[Positivity, float | None, str | None]:
    """Return (positivity, numeric intensity, problem) from value[x], interpretation and ranges.

    `cutoffs` (the antibody's line-blot cut-off) reads a number sent without a range; None for findings. A
    line-blot intensity in the cut-off's equivocal band (11-25: the manufacturer's "weak positive") is read as
    equivocal whatever the flag or range says, like the words "weak positive": the seeds count only > 25.
    """
    state, intensity, problem = _read_positivity(holder, cutoffs)
    if state is Positivity.POSITIVE and intensity is not None and cutoffs is not None:
        quantity = holder.get("valueQuantity")
        unit = quantity_unit(quantity) if isinstance(quantity, dict) else ""
        if pos.from_cutoffs(intensity, unit, cutoffs) is Positivity.EQUIVOCAL:
            return Positivity.EQUIVOCAL, intensity, None
    return state, intensity, problem


def _read_positivity(
    holder: Mapping[str, Any], cutoffs: QuantityCutoffs | None
) -> tuple[Positivity, float | None, str | None]:
    stated = _stated_positivity(holder)
    flagged = _interpreted_positivity(holder)
    quantity = holder.get("valueQuantity")
    intensity = as_number(quantity.get("value")) if isinstance(quantity, dict) else None
    if flagged is Positivity.UNREADABLE:
        return Positivity.UNREADABLE, intensity, "interpretation flags disagree"
    if stated is not None and flagged is not None and stated is not flagged:
        return (
            Positivity.UNREADABLE, intensity,
            f"value says {stated.value} but interpretation says {flagged.value}",
        )
    if stated is not None:
        return stated, intensity, None
    if flagged is not None:
        return flagged, intensity, None
    if isinstance(quantity, dict):
        return _quantity_positivity(holder, quantity, intensity, cutoffs)
    text = holder.get("valueString")
    if isinstance(text, str):
        return Positivity.UNREADABLE, None, f"result text not understood ('{text.strip()[:40]}')"
    return Positivity.UNREADABLE, None, "no readable result"


def _quantity_positivity(
    holder: Mapping[str, Any], quantity: Mapping[str, Any], intensity: float | None, cutoffs: QuantityCutoffs | None
) -> tuple[Positivity, float | None, str | None]:
    if intensity is None:
        return Positivity.UNREADABLE, None, "no numeric value"
    unit = quantity_unit(quantity)
    state = pos.from_range(intensity, *_raw_range(holder))
    if state is None and cutoffs is not None:
        state = pos.from_cutoffs(intensity, unit, cutoffs)
    if state is None:
        return Positivity.UNREADABLE, intensity, f"no reference range or cut-off for unit '{unit[:40]}'"
    comparator = as_str(quantity.get("comparator"))
    # "<5" can only be read as negative and ">100" only as positive; anything else is ambiguous.
    if (comparator in ("<", "<=") and state is not Positivity.NEGATIVE) or (
        comparator in (">", ">=") and state is not Positivity.POSITIVE
    ):
        return Positivity.UNREADABLE, intensity, f"value reported as a limit ({comparator}{fmt(intensity)})"
    if comparator and comparator not in COMPARATORS:
        return Positivity.UNREADABLE, intensity, f"unknown comparator '{comparator[:20]}'"
    return state, intensity, None


def _raw_range(holder: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """Return low and high of the first referenceRange, as sent."""
    ranges = holder.get("referenceRange")
    first = ranges[0] if isinstance(ranges, list) and ranges else None
    if not isinstance(first, dict):
        return None, None
    low, high = first.get("low"), first.get("high")
    return (
        as_number(low.get("value")) if isinstance(low, dict) else None,
        as_number(high.get("value")) if isinstance(high, dict) else None,
    )


def _stated_positivity(holder: Mapping[str, Any]) -> Positivity | None:
    """Positivity stated by value[x]: a coded qualifier, its text, a string or a boolean."""
    coded = holder.get("valueCodeableConcept")
    if isinstance(coded, dict):
        for system, code, display in codings(coded):
            found = pos.from_code(system, code) or (pos.from_text(display) if display else None)
            if found is not None:
                return found
        text = coded.get("text")
        return pos.from_text(text) if isinstance(text, str) else None
    text = holder.get("valueString")
    if isinstance(text, str):
        return pos.from_text(text)
    flag = holder.get("valueBoolean")
    if isinstance(flag, bool):
        return Positivity.POSITIVE if flag else Positivity.NEGATIVE
    return None


def _interpreted_positivity(holder: Mapping[str, Any]) -> Positivity | None:
    """Positivity from the interpretation flags (POS/DET/H/A, NEG/ND/N, IND/E); UNREADABLE when they disagree."""
    found: Positivity | None = None
    for codeable in as_list(holder.get("interpretation")):
        state = None
        for system, code, _ in codings(codeable):
            state = pos.from_interpretation(system, code)
            if state is not None:
                break
        if state is None and isinstance(codeable, dict):
            text = codeable.get("text")
            state = pos.from_text(text) if isinstance(text, str) else None
        if state is not None:
            if found is not None and found is not state:
                return Positivity.UNREADABLE
            found = state
    return found
