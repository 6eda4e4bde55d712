"""`PatientFacts.results` reads a per-concept index built once: it must answer exactly as the scan it replaced.

The scan (kept below as `scanned`) filtered every lab by concept and sorted newest first, undated last, with
ties in the order received; `latest` and `unusable` are read through `results`, so they are checked too.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from cds_service.facts.fhir_json import as_number, fast_constructor
from cds_service.facts.model import LabResult, PatientFacts, ResourceRef

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CONCEPTS = ["ck", "ferritin", "platelets"]
# Few distinct instants, so that ties are common; the same instant in two zones is a tie as well.
INSTANTS = [
    None, NOW, NOW - timedelta(days=3), NOW - timedelta(days=400), NOW + timedelta(hours=1),
    (NOW - timedelta(days=3)).astimezone(timezone(timedelta(hours=-5))),
]

labs = st.builds(
    LabResult,
    concept=st.sampled_from(CONCEPTS),
    value=st.one_of(st.none(), st.floats(0, 5000)),
    unit=st.just("U/L"),
    effective=st.sampled_from(INSTANTS),
    status=st.sampled_from(["final", "preliminary", "unknown"]),
    ref=st.builds(ResourceRef, st.just("Observation"), st.text("abc", min_size=1, max_size=3)),
    usable=st.booleans(),
    problem=st.sampled_from([None, "no date", "preliminary"]),
)


def scanned(labs: tuple[LabResult, ...], concept: str) -> tuple[LabResult, ...]:
    """What `results` returned before the index: a scan of every lab, then a stable sort."""
    epoch = datetime(1900, 1, 1, tzinfo=UTC)
    found = [lab for lab in labs if lab.concept == concept]
    return tuple(sorted(found, key=lambda lab: (lab.effective is None, -(lab.effective or epoch).timestamp())))


def scanned_latest(labs: tuple[LabResult, ...], concept: str, within: timedelta) -> LabResult | None:
    for lab in scanned(labs, concept):
        if lab.usable and lab.effective is not None and timedelta(0) <= NOW - lab.effective <= within:
            return lab
    return None


@given(st.lists(labs, max_size=30).map(tuple), st.sampled_from([timedelta(days=1), timedelta(days=30)]))
def test_results_latest_and_unusable_answer_as_the_scan_did(found: tuple[LabResult, ...], within: timedelta) -> None:
    facts = PatientFacts("p1", None, None, labs=found)
    for concept in [*CONCEPTS, "troponin-i"]:
        expected = scanned(found, concept)
        # `is` and ==: the very objects, in the very order (equal results sent twice stay two entries).
        assert [id(lab) for lab in facts.results(concept)] == [id(lab) for lab in expected]
        assert facts.latest(concept, NOW, within) is scanned_latest(found, concept, within)
        assert facts.unusable(concept) == tuple(lab for lab in expected if not lab.usable)


@given(st.lists(labs, min_size=1, max_size=10).map(tuple))
def test_the_index_is_not_part_of_equality_hash_or_repr(found: tuple[LabResult, ...]) -> None:
    indexed = PatientFacts("p1", None, None, labs=found)
    indexed.results("ck")
    fresh = PatientFacts("p1", None, None, labs=found)
    assert indexed == fresh and hash(indexed) == hash(fresh) and repr(indexed) == repr(fresh)
    # A copy with other labs builds its own index, never the original's.
    changed = dataclasses.replace(indexed, labs=found[:1])
    assert changed.results(found[0].concept) == (found[0],)


def test_the_fast_constructor_builds_the_same_frozen_reference() -> None:
    ref = fast_constructor(ResourceRef)("Observation", "o1")
    assert type(ref) is ResourceRef and ref == ResourceRef("Observation", "o1")
    assert hash(ref) == hash(ResourceRef("Observation", "o1")) and ref.reference == "Observation/o1"


@given(st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.just(10**400), st.just(-(10**400)),
    st.booleans(), st.none(), st.text(max_size=3),
))
def test_as_number_reads_exact_floats_and_ints_as_the_general_path(value: object) -> None:
    expected = None
    if not isinstance(value, bool) and isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            number = None
        expected = number if number is not None and number == number and abs(number) != float("inf") else None
    assert as_number(value) == expected
