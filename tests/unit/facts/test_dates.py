"""FHIR dates: partial dates, time zones, effective[x]; every datetime is timezone-aware."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from cds_service.facts.dates import add_age, parse_date, parse_datetime
from tests.unit.facts.fhir import LOINC, concept, facts_of, observation, quantity


@pytest.mark.parametrize(("raw", "expected"), [
    ("2019", datetime(2019, 1, 1, tzinfo=UTC)),
    ("2019-05", datetime(2019, 5, 1, tzinfo=UTC)),
    ("2019-05-17", datetime(2019, 5, 17, tzinfo=UTC)),
    ("2019-05-17T10:30:00Z", datetime(2019, 5, 17, 10, 30, tzinfo=UTC)),
    ("2019-05-17T10:30:00.123+02:00", datetime(2019, 5, 17, 8, 30, 0, 123000, tzinfo=UTC)),
    ("2019-05-17T10:30:00-05:00", datetime(2019, 5, 17, 15, 30, tzinfo=UTC)),
    ("2019-05-17T10:30:00", datetime(2019, 5, 17, 10, 30, tzinfo=UTC)),  # no zone (invalid FHIR): UTC
])
def test_fhir_dates_become_aware_datetimes(raw: str, expected: datetime) -> None:
    parsed = parse_datetime(raw)
    assert parsed == expected and parsed is not None and parsed.tzinfo is not None


def test_a_zone_is_kept_not_dropped() -> None:
    parsed = parse_datetime("2019-05-17T10:30:00+02:00")
    assert parsed is not None and parsed.utcoffset() == timedelta(hours=2)
    assert parsed.tzinfo == timezone(timedelta(hours=2))


@pytest.mark.parametrize("raw", ["", "2019-13", "2019-02-30", "19", "yesterday", "2019-05-17 10:30", 2019, None,
                                 ["2019"], "0000", "2019-05-17T25:00:00Z"])
def test_malformed_dates_are_none(raw: Any) -> None:
    assert parse_datetime(raw) is None


def test_parse_date_needs_a_full_date() -> None:
    assert parse_date("1970-06-01") == date(1970, 6, 1)
    assert parse_date("1970-06") is None and parse_date(19700601) is None


def test_add_age_in_each_unit() -> None:
    birth = date(2010, 1, 1)
    assert add_age(birth, 4, "a") == datetime(2010, 1, 1, tzinfo=UTC) + timedelta(days=4 * 365.25)
    assert add_age(birth, 6, "mo") == datetime(2010, 1, 1, tzinfo=UTC) + timedelta(days=6 * 30.4375)
    assert add_age(birth, 3, "wk") == datetime(2010, 1, 22, tzinfo=UTC)
    assert add_age(birth, 3, "fortnights") is None and add_age(birth, -1, "a") is None


def _effective(**fields: Any) -> datetime | None:
    obs = observation(concept(LOINC, "2157-6"), effective=None, valueQuantity=quantity(300, "U/L"), **fields)
    return facts_of(obs).labs[0].effective


def test_effective_period_start_then_end() -> None:
    assert _effective(effectivePeriod={"start": "2026-11-01", "end": "2026-11-03"}) == datetime(2026, 11, 1, tzinfo=UTC)
    assert _effective(effectivePeriod={"end": "2026-11-03T12:00:00Z"}) == datetime(2026, 11, 3, 12, tzinfo=UTC)


def test_effective_instant() -> None:
    assert _effective(effectiveInstant="2026-11-02T07:15:00.5+01:00") == datetime(2026, 11, 2, 6, 15, 0, 500000,
                                                                                    tzinfo=UTC)


def test_a_partial_effective_date_is_the_first_day() -> None:
    assert _effective(effectiveDateTime="2026-11") == datetime(2026, 11, 1, tzinfo=UTC)
