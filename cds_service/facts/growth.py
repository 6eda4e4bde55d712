"""BMI-for-age z-scores from the WHO and CDC LMS tables shipped in `rcpchgrowth`.

clinical-evidence.md section 3 item 14: low weight in children is judged by BMI-for-age z <= -2, never by a
fixed BMI. References: "who" = WHO 2006 standard to 5 years then the WHO 2007 reference to 19 years; "cdc" =
CDC 2000 (2-20 years). The tables, the reference choice by age, and the formulas are rcpchgrowth's.

Why not just call `rcpchgrowth.sds_for_measurement` every time: it scans the whole daily table with a
`round()` per row and builds a scipy `interp1d` per parameter, about 4 ms a call, and a child in hospital
has a weight a day. For BMI both references interpolate L, M and S linearly between the two neighbouring
rows of rcpchgrowth's table (`interpolation_override` for WHO, the sigma rows for CDC), so the fast path
finds the rows by bisection, interpolates linearly, and uses rcpchgrowth's own `z_score`. Outside the
plain LMS zone (WHO beyond +/-3 SD, CDC above the 95th centile) rcpchgrowth applies extra rules, so those
values go to `sds_for_measurement` itself. tests/unit/facts/test_growth.py checks the two agree.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from rcpchgrowth.constants import BMI, CDC, FEMALE, MALE, WHO
from rcpchgrowth.global_functions import (
    lms_value_array_for_measurement_for_reference,
    sds_for_measurement,
    z_score,
)

REFERENCE_LABELS = {"who": "WHO 2006/2007", "cdc": "CDC 2000"}
_REFERENCES = {"who": WHO, "cdc": CDC}
_SEXES = {"male": MALE, "female": FEMALE}
# CDC 2000 extended BMI: above the 95th centile (z > 1.645) rcpchgrowth uses a different method.
_CDC_P95_Z = 1.645


@dataclass(frozen=True)
class ZScore:
    z: float | None
    reference: str
    problem: str | None = None


def _lms_rows(reference: str, age: float, sex: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = lms_value_array_for_measurement_for_reference(
        reference=reference, age=age, measurement_method=BMI, sex=sex
    )
    return rows


_AGE_COLUMNS: dict[int, list[float]] = {}


def _age_column(rows: list[dict[str, Any]]) -> list[float]:
    column = _AGE_COLUMNS.get(id(rows))
    if column is None:
        column = [float(row["decimal_age"]) for row in rows]
        _AGE_COLUMNS[id(rows)] = column  # rcpchgrowth's tables are module-level lists: ids are stable
    return column


def _fast_z(reference: str, age: float, sex: str, bmi: float) -> float | None:
    """Return z by linear LMS interpolation, or None when rcpchgrowth must decide (tails, table edges)."""
    rows = _lms_rows(reference, age, sex)
    ages = _age_column(rows)
    index = bisect_right(ages, age) - 1
    if index < 0 or index >= len(ages) - 1:
        return None
    low, high = rows[index], rows[index + 1]
    weight = (age - ages[index]) / (ages[index + 1] - ages[index])
    lms = [low[k] + (high[k] - low[k]) * weight for k in ("L", "M", "S")]
    z = float(z_score(l=lms[0], m=lms[1], s=lms[2], observation=bmi))
    if reference == WHO and abs(z) > 3:
        return None
    if reference == CDC and z > _CDC_P95_Z:
        return None
    return z


def bmi_for_age_z(bmi: float, age: float, sex: str | None, reference: str) -> ZScore:
    """Return the BMI-for-age z-score of a child, or why it cannot be computed."""
    label = REFERENCE_LABELS[reference]
    ref = _REFERENCES[reference]
    rc_sex = _SEXES.get(sex or "")
    if rc_sex is None:
        return ZScore(None, label, f"sex is {sex or 'not recorded'}: BMI-for-age references are by sex")
    if not (math.isfinite(bmi) and 5 <= bmi <= 100):
        return ZScore(None, label, f"BMI {bmi:g} is implausible")
    try:
        z = _fast_z(ref, age, rc_sex, bmi)
        if z is None:
            z = float(sds_for_measurement(reference=ref, age=age, measurement_method=BMI,
                                          observation_value=bmi, sex=rc_sex))
    except LookupError as error:
        return ZScore(None, label, f"age {age:.2f} years is outside the {label} BMI reference ({error})")
    except (ValueError, ZeroDivisionError, OverflowError) as error:
        return ZScore(None, label, f"{label} BMI reference could not be applied ({type(error).__name__})")
    if not math.isfinite(z):
        return ZScore(None, label, f"{label} BMI reference gave no finite z")
    return ZScore(z, label)
