"""How rules write numbers, units, dates and durations on a card: one spelling for each, shared by every card.

Imports `rules.registry` and the standard library only. Card wording itself lives in the catalogue YAML; these
are the small pieces a rule puts into its `values` and data lines.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from cds_service.rules.registry import DURATION_UNITS, RuleContext

# Catalogue duration units as a window reads on a card: "72 h", "14 days", "12 months".
DURATION_WORDS = {"h": "h", "d": "days", "wk": "weeks", "mo": "months", "a": "years"}
# UCUM codes whose usual clinical spelling differs; everything else reads well as it is.
_UNIT_WORDS = {"Cel": "°C", "10*3/uL": "x10^3/uL", "10*9/L": "x10^9/L"}
_MONTH = DURATION_UNITS["mo"]


def number(value: float) -> str:
    """Return a value without a spurious decimal part: 685.0 -> "685", 1.35 -> "1.35"."""
    return f"{value:g}"


def label_case(text: str) -> str:
    """Capitalise the first letter only, so "GI perforation" stays as written."""
    return text[:1].upper() + text[1:]


def in_sentence(text: str) -> str:
    """Lower-case a capitalised word for mid-sentence use, leaving acronyms (CT, FDG, GI, AST) alone."""
    return text[0].lower() + text[1:] if text[1:2].islower() else text


def day(when: date | datetime | None) -> str:
    if when is None:
        return "date unknown"
    return (when.date() if isinstance(when, datetime) else when).isoformat()


def unit_text(unit: str) -> str:
    """Return a UCUM unit as clinicians write it; a pure annotation ("{score}", "{ratio}") shows nothing."""
    if unit.startswith("{") and unit.endswith("}"):
        return ""
    return _UNIT_WORDS.get(unit, unit)


def months(delta: timedelta) -> float:
    """Return a duration in months of 365/12 days (the registry's month)."""
    return delta / _MONTH


def months_text(delta: timedelta) -> str:
    """Return a duration as whole months, or weeks/days when shorter than a month."""
    if delta >= _MONTH:
        return _plural(int(months(delta)), "month")
    if delta >= timedelta(weeks=1):
        return _plural(delta.days // 7, "week")
    return _plural(max(delta.days, 0), "day")


def ago_text(when: datetime | None, now: datetime) -> str:
    """Return "5 months ago", or "date unknown" for an undated event."""
    return "date unknown" if when is None else f"{months_text(now - when)} ago"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def window_text(ctx: RuleContext, name: str) -> str:
    """Return a catalogue window in words, as the catalogue states it: "72 h", "14 days", "12 months"."""
    param = ctx.params[name]
    return f"{number(param.value)} {DURATION_WORDS.get(param.unit, param.unit)}"
