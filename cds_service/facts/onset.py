"""Disease onset: from the myositis Conditions, else approximated by the first positive anti-NXP2 result."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from cds_service.facts.model import AntibodyResult, Onset, Positivity, ResourceRef

FIRST_ANTIBODY_SOURCE: Final = "first anti-NXP2 result"


def estimate_onset(
    myositis: Sequence[tuple[datetime | None, str, datetime | None, ResourceRef]],
    antibodies: Sequence[AntibodyResult],
) -> Onset | None:
    """Earliest stated onset of a myositis Condition; else its recordedDate; else the first positive
    anti-NXP2 result (both approximate). Without a myositis Condition there is no onset to estimate.

    `myositis` holds (stated onset, its source, recordedDate, ref) of each myositis Condition.
    """
    stated = [(when, source, ref) for when, source, _, ref in myositis if when is not None]
    if stated:
        when, source, ref = min(stated, key=lambda item: item[0])
        return Onset(when, source, approximate=False, ref=ref)
    recorded = [(when, ref) for _, _, when, ref in myositis if when is not None]
    if recorded:
        when, ref = min(recorded, key=lambda item: item[0])
        return Onset(when, "recordedDate", approximate=True, ref=ref)
    if not myositis:
        return None
    positives = [
        a for a in antibodies if a.usable and a.positivity is Positivity.POSITIVE and a.effective is not None
    ]
    if not positives:
        return None
    first = min(positives, key=lambda a: a.effective)  # type: ignore[arg-type,return-value]
    assert first.effective is not None
    return Onset(first.effective, FIRST_ANTIBODY_SOURCE, approximate=True, ref=first.ref)
