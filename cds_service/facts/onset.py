"""Disease onset: stated on a myositis Condition, else approximated from the earliest sign of the disease.

Without a stated onset (onsetDateTime, onsetAge, onsetPeriod), the approximate onset is the earliest of: a
myositis Condition's recordedDate, the first positive anti-NXP2 result, and the first finding whose value set
`marks_onset` (dysphagia, skin ulcer, oedema...). An antibody positive since 2019 with a diagnosis recorded last
month is not "1 month since onset". Without a myositis Condition there is no onset to estimate.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Final

from cds_service.facts.model import AntibodyResult, Onset, Positivity, Problem, ResourceRef

FIRST_ANTIBODY_SOURCE: Final = "first anti-NXP2 result"
RECORDED_SOURCE: Final = "recordedDate"


def estimate_onset(
    myositis: Sequence[tuple[datetime | None, str, datetime | None, ResourceRef]],
    antibodies: Sequence[AntibodyResult],
    problems: Sequence[Problem] = (),
    onset_markers: Collection[str] = (),
) -> Onset | None:
    """Earliest stated onset of a myositis Condition; else the earliest sign of the disease (approximate).

    `myositis` holds (stated onset, its source, recordedDate, ref) of each myositis Condition; `problems` and
    `onset_markers` give the findings that show the disease was present.
    """
    if not myositis:
        return None
    stated = [(when, source, ref) for when, source, _, ref in myositis if when is not None]
    if stated:
        when, source, ref = min(stated, key=lambda item: item[0])
        return Onset(when, source, approximate=False, ref=ref)
    candidates: list[tuple[datetime, str, ResourceRef]] = [
        (recorded, RECORDED_SOURCE, ref) for _, _, recorded, ref in myositis if recorded is not None
    ]
    candidates += [
        (a.effective, FIRST_ANTIBODY_SOURCE, a.ref)
        for a in antibodies
        if a.usable and a.positivity is Positivity.POSITIVE and a.effective is not None
    ]
    candidates += [
        (p.noted, f"first record of {p.display or p.concept}", p.ref)
        for p in problems
        if p.concept in onset_markers and p.noted is not None
    ]
    if not candidates:
        return None
    when, source, ref = min(candidates, key=lambda item: item[0])
    return Onset(when, source, approximate=True, ref=ref)
