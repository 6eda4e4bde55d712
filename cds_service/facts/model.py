"""Frozen dataclasses describing what we know about one patient; built by `facts.build`, read by rules.

Imports the standard library only. Concept names (``"ferritin"``, ``"dysphagia"``, ``"ct-chest"``) are the
value-set names of `cards/valuesets/*.yaml`. Values are in the canonical unit of terminology.md section 4;
anything we could not read is kept with `usable=False` and a `problem`, so cards can say what was left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from functools import cached_property

# Juvenile = myositis onset before 18 (clinical-evidence.md reading rules, S0 and S3); "a child now" uses the same age.
JUVENILE_BEFORE_YEARS = 18.0


class Positivity(Enum):
    POSITIVE = "positive"
    EQUIVOCAL = "equivocal"
    NEGATIVE = "negative"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class ResourceRef:
    """Where a fact came from: `Observation/abc`, shown in card details."""

    resource_type: str
    id: str

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}"


@dataclass(frozen=True)
class LabResult:
    """One numeric Observation (laboratory, vital sign, score), normalised to the canonical unit.

    `usable` is False when the value cannot fire a card: unknown unit, unreadable value, no date, or a
    status that is not final/amended/corrected (`preliminary` results are kept for display only).
    """

    concept: str
    value: float | None
    unit: str
    effective: datetime | None
    status: str
    ref: ResourceRef
    usable: bool = True
    problem: str | None = None
    reference_low: float | None = None
    reference_high: float | None = None
    display_value: str = ""

    def age_at(self, now: datetime) -> timedelta | None:
        return None if self.effective is None else now - self.effective


@dataclass(frozen=True)
class AntibodyResult:
    """One anti-NXP2 Observation with its positivity and, for line blots, the signal intensity."""

    positivity: Positivity
    effective: datetime | None
    status: str
    ref: ResourceRef
    usable: bool = True
    intensity: float | None = None
    method: str = ""
    problem: str | None = None
    # The configured line-blot cut-off (anti-nxp2.yaml, the seeds' > 25), set when an intensity in its units was
    # read, so a card can show whether the intensity exceeds it (clinical-evidence.md section 5.0).
    intensity_cutoff: float | None = None


@dataclass(frozen=True)
class Problem:
    """A Condition (or a coded clinical finding Observation) matched to a concept."""

    concept: str
    current: bool
    clinical_status: str
    onset: datetime | None
    recorded: datetime | None
    ref: ResourceRef
    display: str = ""
    # The Condition text the concept was recognised from when no code matched ("" when a code matched).
    recognised_from_text: str = ""

    @property
    def noted(self) -> datetime | None:
        """The date the problem was first known: onset, else recorded date."""
        return self.onset or self.recorded


@dataclass(frozen=True)
class TestDone:
    """A completed Procedure, final DiagnosticReport or available ImagingStudy matched to a concept."""

    __test__ = False  # a clinical test, not a pytest class: without this, importing it into a test warns

    concept: str
    performed: datetime | None
    ref: ResourceRef


@dataclass(frozen=True)
class TestDeclined:
    """A Procedure recorded as not-done, with its reason text (for example patient declined)."""

    __test__ = False  # a clinical test, not a pytest class

    concept: str
    recorded: datetime | None
    reason: str
    ref: ResourceRef


@dataclass(frozen=True)
class Onset:
    """When myositis began and how we know it."""

    when: datetime
    source: str  # "onsetDateTime", "onsetAge", "onsetPeriod", "recordedDate" or "first anti-NXP2 result"
    approximate: bool
    ref: ResourceRef


@dataclass(frozen=True)
class Growth:
    """Body-mass index at one date, with the BMI-for-age z-score for children when it could be computed."""

    bmi: float
    measured: datetime
    refs: tuple[ResourceRef, ...]
    z_score: float | None = None
    reference: str = ""  # growth reference used for z, for example "WHO 2006/2007"
    problem: str | None = None  # why z could not be computed


@dataclass(frozen=True)
class DataIssue:
    """Data we received and could not use; cards list the ones that concern them."""

    concept: str
    ref: ResourceRef | None
    problem: str


@dataclass(frozen=True)
class PatientFacts:
    """Everything the rules may know about one patient at one instant."""

    patient_id: str
    birth_date: date | None
    sex: str | None
    antibodies: tuple[AntibodyResult, ...] = ()
    labs: tuple[LabResult, ...] = ()
    problems: tuple[Problem, ...] = ()
    tests_done: tuple[TestDone, ...] = ()
    tests_declined: tuple[TestDeclined, ...] = ()
    onset: Onset | None = None
    growth: tuple[Growth, ...] = ()
    issues: tuple[DataIssue, ...] = ()
    # Prefetch keys that could not be obtained but were not required (degraded data, said on cards).
    unavailable: tuple[str, ...] = field(default=())

    # --- antibody -----------------------------------------------------------------------------------

    def antibody_status(self) -> Positivity | None:
        """Return POSITIVE if any usable result was ever positive, else EQUIVOCAL, NEGATIVE or None."""
        usable = [a.positivity for a in self.antibodies if a.usable]
        for state in (Positivity.POSITIVE, Positivity.EQUIVOCAL, Positivity.NEGATIVE):
            if state in usable:
                return state
        return None

    def first_positive_antibody(self) -> AntibodyResult | None:
        positives = [a for a in self.antibodies if a.usable and a.positivity is Positivity.POSITIVE]
        return min(positives, key=_sort_key, default=None)

    def later_negative_antibody(self) -> AntibodyResult | None:
        """Return the newest usable negative result dated after the last positive one, if any."""
        positives = [a.effective for a in self.antibodies if a.usable and a.positivity is Positivity.POSITIVE]
        last_positive = max((p for p in positives if p is not None), default=None)
        negatives = [
            a for a in self.antibodies
            if a.usable and a.positivity is Positivity.NEGATIVE and a.effective is not None
            and (last_positive is None or a.effective > last_positive)
        ]
        return max(negatives, key=_sort_key, default=None) if positives else None

    # --- ages ---------------------------------------------------------------------------------------

    def age_on(self, when: date | datetime) -> float | None:
        """Return age in years (fractional) on a date, or None without a birth date."""
        if self.birth_date is None:
            return None
        day = when.date() if isinstance(when, datetime) else when
        return (day - self.birth_date).days / 365.25

    def onset_age(self) -> float | None:
        return None if self.onset is None else self.age_on(self.onset.when)

    def is_juvenile_onset(self) -> bool | None:
        """True when myositis began before 18, or juvenile dermatomyositis is coded or named (whatever the
        dates); None when onset or birth date is unknown."""
        if self.problems_of("juvenile-dermatomyositis"):
            return True
        age = self.onset_age()
        return None if age is None else age < JUVENILE_BEFORE_YEARS

    # --- labs, problems, tests ----------------------------------------------------------------------

    def results(self, concept: str) -> tuple[LabResult, ...]:
        """Every result for a concept, newest first (undated last)."""
        return self._results_by_concept.get(concept, ())

    @cached_property
    def _results_by_concept(self) -> dict[str, tuple[LabResult, ...]]:
        """Every concept's results, newest first (undated last; ties in the order received), grouped once.

        Why: the rules and the chart ask for one concept's results about 30 times a call; scanning and sorting
        every lab each time cost more than the rules themselves on a long-followed chart (2,000 results). The
        index is built on first use and stored in the instance dict (not a field: equality, hashing and repr
        still see only the fields), so facts stay immutable; `sorted` is stable, so the order is exactly that
        of sorting the concept's results as received.
        """
        grouped: dict[str, list[LabResult]] = {}
        for lab in self.labs:
            found = grouped.get(lab.concept)
            if found is None:
                grouped[lab.concept] = [lab]
            else:
                found.append(lab)
        return {concept: tuple(sorted(found, key=_newest_first)) for concept, found in grouped.items()}

    def latest(self, concept: str, now: datetime, within: timedelta) -> LabResult | None:
        """Return the newest usable result of a concept taken within `within` before `now`."""
        for lab in self.results(concept):
            if lab.usable and lab.effective is not None and timedelta(0) <= now - lab.effective <= within:
                return lab
        return None

    def unusable(self, concept: str) -> tuple[LabResult, ...]:
        return tuple(lab for lab in self.results(concept) if not lab.usable)

    def problems_of(self, concept: str, *, current_only: bool = False) -> tuple[Problem, ...]:
        return tuple(
            p for p in self.problems if p.concept == concept and (p.current or not current_only)
        )

    def has_current(self, concept: str) -> bool:
        return bool(self.problems_of(concept, current_only=True))

    def tests_of(self, concept: str) -> tuple[TestDone, ...]:
        found = [t for t in self.tests_done if t.concept == concept]
        return tuple(sorted(found, key=lambda t: (t.performed is None, -(t.performed or _EPOCH).timestamp())))

    def last_test(self, concepts: tuple[str, ...] | list[str]) -> TestDone | None:
        """Return the newest dated test of any of the concepts."""
        dated = [t for t in self.tests_done if t.concept in concepts and t.performed is not None]
        return max(dated, key=lambda t: t.performed or _EPOCH, default=None)

    def issues_for(self, concept: str) -> tuple[DataIssue, ...]:
        return tuple(i for i in self.issues if i.concept == concept)


# Every datetime in facts is timezone-aware (build.py reads partial dates as UTC midnight).
_EPOCH = datetime(1900, 1, 1, tzinfo=UTC)


def _sort_key(item: AntibodyResult) -> datetime:
    return item.effective or _EPOCH


def _newest_first(lab: LabResult) -> tuple[bool, float]:
    return (lab.effective is None, -(lab.effective or _EPOCH).timestamp())
