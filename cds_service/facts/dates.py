"""Read FHIR date, dateTime and instant strings into timezone-aware datetimes.

FHIR allows partial dates (`2019`, `2019-05`), full dates, and date-times with a zone. Every datetime in the
facts is timezone-aware: a date without a time is read as UTC midnight, a partial date as the first day of
its year or month (so `2019` sorts before any day in 2019), and a date-time without a zone (invalid FHIR, but
sent by some feeds) as UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

# Ages in `Condition.onsetAge` and similar, in the UCUM units FHIR uses for Age.
_AGE_UNIT_DAYS = {"a": 365.25, "mo": 30.4375, "wk": 7.0, "d": 1.0, "h": 1 / 24, "min": 1 / 1440}


def parse_datetime(raw: object) -> datetime | None:
    """Return the instant a FHIR date/dateTime/instant string names, or None when it is not one."""
    if not isinstance(raw, str):
        return None
    try:
        length = len(raw)
        if length == 10:  # YYYY-MM-DD: the common case, parsed without the general ISO path
            day = date.fromisoformat(raw)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        if length == 4 and raw.isdigit():
            return datetime(int(raw), 1, 1, tzinfo=UTC)
        if length == 7 and raw[4] == "-" and raw[:4].isdigit() and raw[5:].isdigit():
            return datetime(int(raw[:4]), int(raw[5:]), 1, tzinfo=UTC)
        if length < 16 or raw[10] not in "Tt":
            return None
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed


def parse_date(raw: object) -> date | None:
    """Return a full FHIR date (`YYYY-MM-DD`), or None for partial or malformed dates."""
    if not isinstance(raw, str) or len(raw) != 10:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def add_age(birth: date, value: float, unit: str) -> datetime | None:
    """Return the instant at which someone born on `birth` reached an age, or None for an unknown unit."""
    days = _AGE_UNIT_DAYS.get(unit)
    if days is None or not 0 <= value <= 150 * 365.25 / days:
        return None
    start = datetime(birth.year, birth.month, birth.day, tzinfo=UTC)
    return start + timedelta(days=value * days)


def decimal_age(birth: date, when: datetime) -> float:
    """Return age in years as days / 365.25, the convention of `PatientFacts.age_on` and of rcpchgrowth."""
    return (when.date() - birth).days / 365.25
