"""The Patient resource (id, birth date, sex) and growth: BMI series with BMI-for-age z for children."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from cds_service.facts.dates import decimal_age, parse_date
from cds_service.facts.fhir_json import as_str
from cds_service.facts.growth import bmi_for_age_z
from cds_service.facts.model import Growth, LabResult, ResourceRef
from cds_service.facts.valuesets import GrowthSettings


def read_patient(patient: Mapping[str, Any]) -> tuple[str, date | None, str | None]:
    """Return the Patient's id, birth date and administrative gender (None when not stated)."""
    gender = patient.get("gender")
    return (
        as_str(patient.get("id")),
        parse_date(patient.get("birthDate")),
        gender if isinstance(gender, str) and gender else None,
    )


def growth_series(
    labs: Sequence[LabResult], birth_date: date | None, sex: str | None, settings: GrowthSettings
) -> tuple[Growth, ...]:
    """BMI from BMI Observations, and from weight and height taken close enough together; newest first."""
    usable = [lab for lab in labs if lab.usable and lab.value is not None and lab.effective is not None]
    bmis = [lab for lab in usable if lab.concept == "bmi"]
    found: list[tuple[float, datetime, tuple[ResourceRef, ...]]] = [
        (lab.value, lab.effective, (lab.ref,)) for lab in bmis if lab.value is not None and lab.effective
    ]
    bmi_days = {lab.effective.date() for lab in bmis if lab.effective is not None}
    heights = sorted(
        ((lab.effective, lab.value, lab.ref) for lab in usable if lab.concept == "body-height"
         and lab.effective is not None and lab.value is not None and lab.value > 0),
        key=lambda item: item[0],
    )
    height_times = [item[0] for item in heights]
    within = timedelta(days=settings.pair_within_days)
    for lab in usable:
        if lab.concept != "body-weight" or lab.effective is None or lab.value is None or lab.value <= 0:
            continue
        if lab.effective.date() in bmi_days:
            continue  # the EHR recorded this day's BMI itself
        nearest = _nearest(height_times, lab.effective)
        if nearest is None or abs(height_times[nearest] - lab.effective) > within:
            continue
        _, height_cm, height_ref = heights[nearest]
        found.append((lab.value / (height_cm / 100) ** 2, lab.effective, (lab.ref, height_ref)))
    found.sort(key=lambda item: item[1], reverse=True)
    return tuple(_with_z(bmi, measured, refs, birth_date, sex, settings) for bmi, measured, refs in found)


def _with_z(
    bmi: float, measured: datetime, refs: tuple[ResourceRef, ...], birth_date: date | None, sex: str | None,
    settings: GrowthSettings,
) -> Growth:
    if birth_date is None:
        return Growth(bmi, measured, refs, problem="no birth date: age unknown, BMI-for-age z not computed")
    age = decimal_age(birth_date, measured)
    if age >= settings.z_below_age:
        return Growth(bmi, measured, refs)
    if age < 0:
        return Growth(bmi, measured, refs, problem="measured before the birth date")
    z = bmi_for_age_z(bmi, age, sex, settings.z_reference)
    return Growth(bmi, measured, refs, z_score=z.z, reference=z.reference, problem=z.problem)


def _nearest(times: list[datetime], when: datetime) -> int | None:
    """Return the index of the time closest to `when` in a sorted list, or None for an empty list."""
    if not times:
        return None
    index = bisect_left(times, when)
    candidates = [i for i in (index - 1, index) if 0 <= i < len(times)]
    return min(candidates, key=lambda i: abs(times[i] - when))
