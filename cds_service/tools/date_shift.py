"""Move every date of a FHIR resource by the same amount, so a patient written for one instant looks the same
at another: used by `nxp2-cds request --now` and by the demo FHIR server's fixtures (tests/support).

dateTimes move by the exact difference (to the second); dates by the number of calendar days between the two
instants' UTC dates, so "today" stays today. Standard library only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Keys whose string values are never dates, even when they look like one.
_NOT_DATES = frozenset({"id", "reference", "system", "code", "url", "fullUrl", "div"})


def shift_dates(value: Any, delta: timedelta, days: int, key: str = "") -> Any:
    """Return a copy of a FHIR JSON value with dateTimes moved by `delta` and dates by `days` days."""
    if isinstance(value, dict):
        return {k: shift_dates(v, delta, days, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shift_dates(item, delta, days, key) for item in value]
    if isinstance(value, str) and key not in _NOT_DATES:
        if _DATE_TIME.match(value):
            moved = datetime.fromisoformat(value.replace("Z", "+00:00")) + delta
            return moved.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if _DATE.match(value):
            return (datetime.fromisoformat(value) + timedelta(days=days)).date().isoformat()
    return value


def clock_shift(written_for: datetime, now: datetime) -> tuple[timedelta, int]:
    """Return (delta for dateTimes, calendar days for dates) that move `written_for` to `now`."""
    delta = timedelta(seconds=round((now - written_for).total_seconds()))
    return delta, (now.astimezone(UTC).date() - written_for.astimezone(UTC).date()).days
