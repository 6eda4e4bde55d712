"""The clock: the one place that reads the wall time, so tests can fix `now`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Return the current time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class FixedClock:
    """Always return the same instant (tests, offline evaluation of a dated scenario)."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant
