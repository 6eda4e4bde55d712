"""The test builders: one clock, one rule context, one FHIR Bundle generator, facts built from Bundles.

- `NOW` is the suite's fixed instant; `ago(days=, hours=)` and `months_ago(n)` count back from it.
- `rule_context(rule_id)` is the context the service gives a rule (`hooks.evaluate.rule_context` with the real
  catalogue and value-set titles); `run_rule(rule_id, facts)` runs the rule in it; `param`, `window` read the
  catalogue; `indicator(rule_id, finding)` is the card's indicator.
- `PatientRecord` (tests/support/bundle.py) writes one patient's FHIR R4 collection Bundle resource by resource;
  `facts_of(record)` is what the facts layer (`build_facts`) makes of it at NOW. `jdm_child_record(name)` and
  `adult_dm_record(name)` start the usual fixture patients.
- Rule tests describe a patient with entries (`problem`, `lab`, `completed_test`, `declined_test`, `antibody`, each
  with `.ref`) and get its facts from a Bundle: `jdm_child_facts(*entries)`, `adult_onset_facts(*entries)`,
  `myositis_facts(*entries, onset_age=, onset_at=)`, `patient_facts(...)`. Only what a Bundle cannot say is
  built by hand and appended after `build_facts`: `data_issue`, `growth` (a chosen z-score), `with_hand_built`.

Adding a fixture (one clinical situation, ideally as a boundary pair):
1. In `tests/scenarios/fixtures.py`, add a `PatientRecord` named after the situation to `fixtures()`, usually
   `jdm_child_record("jdm-nxp2-mas-ferritin-685").lab("ferritin", 685, hours=10)` or `adult_dm_record(...)`.
2. In `tests/golden/expectations.yaml`, add the scenario by hand: a one-line `description`, and `fires`: the
   cards that must fire with their indicator; every other card of the service must stay silent.
3. Run `.venv/bin/python -m tests.scenarios.fixtures` (writes `fhir_fixtures/<name>.json`), then
   `UPDATE_GOLDEN=1 .venv/bin/pytest tests/api/test_scenarios.py`, read the new golden card and commit all three.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import yaml

from cds_service.cards.catalogue import Catalogue, load_catalogue
from cds_service.config import PROJECT_ROOT
from cds_service.facts.build import build_facts
from cds_service.facts.model import (
    AntibodyResult,
    DataIssue,
    Growth,
    LabResult,
    PatientFacts,
    Positivity,
    Problem,
    ResourceRef,
    TestDeclined,
    TestDone,
)
from cds_service.hooks.evaluate import concept_titles
from cds_service.hooks.evaluate import rule_context as service_rule_context
from cds_service.rules import REGISTRY
from cds_service.rules.registry import DURATION_UNITS, Finding, Param, RuleContext
from tests.support.bundle import NOW, BmiExpectation, PatientRecord, ago
from tests.support.fixture_codes import valuesets

__all__ = ["NOW", "BmiExpectation", "PatientRecord", "ago"]  # the rest of the API is defined here

CARDS_DIR = PROJECT_ROOT / "cards"
GOLDEN = PROJECT_ROOT / "tests" / "golden"
EXPECTATIONS = GOLDEN / "expectations.yaml"
MONTH = DURATION_UNITS["mo"]
YEAR = timedelta(days=365.25)  # PatientFacts.age_on divides days by 365.25


# --- time -------------------------------------------------------------------------------------------------


def months_ago(months: float) -> datetime:
    """Exactly `months` catalogue months (365/12 days) before NOW, so it sits on an `n mo` window."""
    return NOW - months * MONTH


def born_aged(age_years: float, on: datetime = NOW) -> date:
    """A birth date that makes the patient `age_years` old (to within a day) on `on`."""
    return (on - age_years * YEAR).date()


# --- the catalogue and the rule context ---------------------------------------------------------------------


@cache
def catalogue() -> Catalogue:
    return load_catalogue(CARDS_DIR, REGISTRY)


def rule_context(rule_id: str, *, now: datetime = NOW, switches: Mapping[str, bool] | None = None) -> RuleContext:
    """The context the service gives the rule (its catalogue params and switches, titles), at `now`."""
    ctx = service_rule_context(catalogue().rules[rule_id], now, concept_titles(valuesets()))
    return replace(ctx, switches={**ctx.switches, **(switches or {})}) if switches else ctx


def run_rule(
    rule_id: str, facts: PatientFacts, *, now: datetime = NOW, switches: Mapping[str, bool] | None = None
) -> Finding | None:
    return REGISTRY[rule_id].function(facts, rule_context(rule_id, now=now, switches=switches))


def param(rule_id: str, name: str) -> Param:
    entry = catalogue().rules[rule_id].params[name]
    return Param(value=entry.value, unit=entry.unit)


def window(rule_id: str, name: str) -> timedelta:
    return rule_context(rule_id).window(name)


def load_expectations() -> dict[str, Any]:
    """tests/golden/expectations.yaml: `now`, and per scenario its `description` and the cards it `fires`."""
    spec: dict[str, Any] = yaml.safe_load(EXPECTATIONS.read_text(encoding="utf-8"))
    assert spec["now"] == NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), "the scenarios are written for the suite's NOW"
    for name, scenario in spec["scenarios"].items():
        assert set(scenario) == {"description", "fires"} and scenario["description"].strip(), name
    return spec


def indicator(rule_id: str, finding: Finding) -> str:
    """The indicator the card of a finding gets: its escalation's, else the card's."""
    entry = catalogue().rules[rule_id]
    return entry.escalations[finding.escalation].indicator if finding.escalation else entry.card.indicator


def facts_of(record: PatientRecord, *, now: datetime = NOW, unavailable: tuple[str, ...] = ()) -> PatientFacts:
    """What the facts layer makes of the record's Bundle at `now` (the service's own `build_facts`)."""
    return build_facts(record.patient(), record.resources, now, valuesets(), unavailable=unavailable)


# --- the usual patients -----------------------------------------------------------------------------------

CHILD_BIRTH = date(2018, 5, 10)  # 8.5 years at NOW; JDM onset 180 days ago at 8.0 years
ADULT_BIRTH = date(1975, 2, 1)


def jdm_child_record(
    name: str, *, antibody: str = "positive", work_up: bool = True, onset_days: float = 180,
    birth: date = CHILD_BIRTH,
) -> PatientRecord:
    """A child with anti-NXP2 JDM (onset 180 days ago) whose ECG and echocardiogram are done, unless told otherwise."""
    record = PatientRecord(name, birth=birth).antibody(antibody, days=onset_days - 10).myositis(days=onset_days)
    return record.cardiac_work_up(days=onset_days - 30) if work_up else record


def adult_dm_record(name: str) -> PatientRecord:
    """An adult (born 1975) with anti-NXP2 dermatomyositis that began 180 days ago."""
    return PatientRecord(name, birth=ADULT_BIRTH, given="Li", gender="male").antibody().myositis(juvenile=False)


# --- patients for rule tests: facts from a Bundle, plus what a Bundle cannot say ----------------------------

_rids = itertools.count(1)


@dataclass(frozen=True)
class Entry:
    """One resource to write into a test patient's Bundle; `ref` is the reference a card shows for it."""

    concept: str
    resource_type: str
    rid: str
    write: Callable[[PatientRecord, str], object]

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(self.resource_type, self.rid)


def _entry(concept: str, resource_type: str, write: Callable[[PatientRecord, str], object]) -> Entry:
    return Entry(concept, resource_type, f"{concept}-{next(_rids)}", write)


def _when(at: datetime | None, days: float | None, hours: float = 0) -> datetime | None:
    return at if at is not None else None if days is None else ago(days=days, hours=hours)


def problem(
    concept: str, *, at: datetime | None = None, days: float | None = 1, status: str = "active",
    recorded_at: datetime | None = None, recorded_days: float | None = None, display: str | None = None,
) -> Entry:
    """A Condition of a concept with onset `at` (or `days` ago; None: no date), recorded then unless told."""
    onset, recorded = _when(at, days), _when(recorded_at, recorded_days)
    return _entry(concept, "Condition", lambda r, rid: r.condition(
        concept, at=onset, days=None, status=status, recorded=recorded, undated_record=onset is None and not recorded,
        text=display, rid=rid))


def lab(
    concept: str, value: float | str, *, at: datetime | None = None, days: float | None = 0, hours: float = 0,
    high: float | None = None, low: float | None = None, unit: str | None = None, status: str = "final",
) -> Entry:
    """A numeric Observation (`days=None`: undated; a text value or another unit: one the facts cannot read)."""
    when = _when(at, days, hours)
    return _entry(concept, "Observation", lambda r, rid: r.lab(
        concept, value, at=when, days=None, high=high, low=low, unit=unit, status=status, rid=rid))


def completed_test(concept: str, *, at: datetime | None = None, days: float | None = 0) -> Entry:
    """A completed Procedure (`days=None`: no performed date)."""
    when = _when(at, days)
    return _entry(concept, "Procedure", lambda r, rid: r.procedure(concept, at=when, days=None, rid=rid))


def declined_test(
    concept: str, *, at: datetime | None = None, days: float | None = 10, reason: str = "Patient declined"
) -> Entry:
    """A not-done Procedure with its reason (`days=None`: no date)."""
    when = _when(at, days)
    return _entry(concept, "Procedure", lambda r, rid: r.procedure(
        concept, at=when, days=None, declined=True, reason=reason, rid=rid))


def antibody(
    result: str | Positivity = "positive", *, at: datetime | None = None, days: float = 200, usable: bool = True,
    method: str | None = None, intensity: float | None = None,
) -> Entry:
    """An anti-NXP2 result: positive, negative, equivocal or unreadable; `usable=False` sends it as preliminary.
    A line-blot `intensity` goes with the method "line blot" unless told otherwise."""
    when = at or ago(days=days)
    shown = ("line blot" if intensity is not None else "") if method is None else method
    value = result.value if isinstance(result, Positivity) else result
    return _entry("anti-nxp2", "Observation", lambda r, rid: r.antibody(
        value, at=when, status="final" if usable else "preliminary", method=shown, intensity=intensity, rid=rid))


def antibody_result(
    positivity: Positivity = Positivity.POSITIVE, *, days: float = 200, usable: bool = True,
    problem_text: str | None = None, intensity: float | None = None,
) -> AntibodyResult:
    """An anti-NXP2 result by hand: a chosen problem text when it cannot be used, or a positive line blot at an
    intensity the facts layer reads as equivocal (11-25), for rules that still guard against one."""
    return AntibodyResult(positivity=positivity, effective=ago(days=days), status="final" if usable else "preliminary",
                          ref=hand_ref(), usable=usable, problem=problem_text, intensity=intensity,
                          method="line blot" if intensity is not None else "")


HandBuilt = AntibodyResult | LabResult | Problem | TestDone | TestDeclined | Growth | DataIssue
_SLOTS: dict[type, str] = {
    AntibodyResult: "antibodies", LabResult: "labs", Problem: "problems", TestDone: "tests_done",
    TestDeclined: "tests_declined", Growth: "growth", DataIssue: "issues",
}


def with_hand_built(facts: PatientFacts, *items: HandBuilt) -> PatientFacts:
    """Facts with items a Bundle cannot produce (a chosen problem text, a given z-score) appended by type."""
    grouped: dict[str, list[object]] = {}
    for item in items:
        grouped.setdefault(_SLOTS[type(item)], []).append(item)
    changes: dict[str, Any] = {slot: (*getattr(facts, slot), *extra) for slot, extra in grouped.items()}
    return replace(facts, **changes)


def hand_ref(resource_type: str = "Observation") -> ResourceRef:
    return ResourceRef(resource_type, f"hand-{next(_rids)}")


def data_issue(concept: str, problem_text: str) -> DataIssue:
    """Data of a concept the facts layer received and could not read, as it reports it."""
    return DataIssue(concept=concept, ref=hand_ref(), problem=problem_text)


def growth(
    bmi: float, *, at: datetime, z_score: float | None, reference: str = "WHO 2006/2007",
    problem_text: str | None = None,
) -> Growth:
    """A BMI with a BMI-for-age z of a chosen value (the facts layer computes z from weight and height)."""
    return Growth(bmi=bmi, measured=at, refs=(hand_ref(),), z_score=z_score,
                  reference=reference if z_score is not None else "", problem=problem_text)


def patient_facts(
    *items: Entry | HandBuilt, birth: date | None, antibodies: Sequence[Entry | HandBuilt] = (),
    myositis: Entry | None = None, gender: str = "female", unavailable: tuple[str, ...] = (), now: datetime = NOW,
) -> PatientFacts:
    """The facts of a patient whose Bundle holds the antibodies, the myositis Condition and the entries; hand-built
    items are appended after `build_facts`."""
    record = PatientRecord("p1", birth=birth, gender=gender)
    hand: list[HandBuilt] = []
    for item in (*antibodies, *(() if myositis is None else (myositis,)), *items):
        if isinstance(item, Entry):
            item.write(record, item.rid)
        else:
            hand.append(item)
    return with_hand_built(facts_of(record, now=now, unavailable=unavailable), *hand)


def jdm_child_facts(
    *items: Entry | HandBuilt, onset_days: float = 180, birth: date | None = CHILD_BIRTH,
    antibodies: Sequence[Entry | HandBuilt] | None = None, myositis: Entry | bool = True,
    unavailable: tuple[str, ...] = (),
) -> PatientFacts:
    """An anti-NXP2-positive child with JDM that began `onset_days` ago (no myositis Condition with `False`)."""
    diagnosis = problem("jdm", days=onset_days) if myositis is True else myositis or None
    return patient_facts(
        *items, birth=birth, antibodies=(antibody(days=onset_days - 10),) if antibodies is None else antibodies,
        myositis=diagnosis, unavailable=unavailable,
    )


def adult_onset_facts(*items: Entry | HandBuilt, onset_days: float = 180) -> PatientFacts:
    """As `jdm_child_facts`, for an adult born in 1975 (adult-onset dermatomyositis)."""
    return patient_facts(*items, birth=ADULT_BIRTH, antibodies=(antibody(days=onset_days - 10),),
                         myositis=problem("dm", days=onset_days))


def myositis_facts(
    *items: Entry | HandBuilt, onset_age: float, onset_at: datetime, sex: str = "female", result: str = "positive",
    approximate: bool = False, with_diagnosis: bool = True, unavailable: tuple[str, ...] = (), birth_known: bool = True,
) -> PatientFacts:
    """Anti-NXP2 myositis (DM) that began at `onset_at`, aged `onset_age` then; the line-blot result 2 weeks later.
    `approximate`: the Condition has only a recorded date, so the onset is approximate."""
    diagnosis = problem("dm", at=None if approximate else onset_at, days=None, recorded_at=onset_at)
    return patient_facts(
        *items, birth=born_aged(onset_age, onset_at) if birth_known else None, gender=sex,
        antibodies=(antibody(result, at=onset_at + timedelta(days=14), method="line blot"),),
        myositis=diagnosis if with_diagnosis else None, unavailable=unavailable,
    )


def lab_result(
    concept: str, value: float | None, *, at: datetime | None = None, days: float = 0, hours: float = 0,
    high: float | None = None, low: float | None = None, unit: str | None = None, usable: bool = True,
    problem_text: str | None = None, undated: bool = False,
) -> LabResult:
    """A result by hand, without the value as the lab spelled it (`display_value`), or with a chosen problem text.

    From a Bundle, a result in the canonical unit also reads "(reported as 150 10*3/uL)" on a card (see the
    golden cards); tests of the value's own wording use this.
    """
    return LabResult(
        concept=concept, value=value, unit=unit or (valuesets().files[concept].unit or ""),
        effective=None if undated else at or ago(days=days, hours=hours), status="final" if usable else "preliminary",
        ref=hand_ref(), usable=usable, problem=problem_text, reference_low=low, reference_high=high,
    )


@dataclass(frozen=True)
class PatientSketch:
    """A test patient not built yet: a patient function, its options and its entries. `add` gives a new sketch
    with more entries; `facts()` builds the Bundle and runs `build_facts` on it."""

    build: Callable[..., PatientFacts]
    options: Mapping[str, Any]
    items: tuple[Entry | HandBuilt, ...] = ()

    def add(self, *items: Entry | HandBuilt) -> PatientSketch:
        return replace(self, items=(*self.items, *items))

    def facts(self, **options: Any) -> PatientFacts:
        """The facts of the Bundle, with more options of the patient function (`unavailable=`, `birth_known=`)."""
        return self.build(*self.items, **{**self.options, **options})


def add(patient: PatientSketch, *items: Entry | HandBuilt) -> PatientSketch:
    return patient.add(*items)


def myositis_patient(**options: Any) -> PatientSketch:
    """A sketch of `myositis_facts(onset_age=, onset_at=, ...)`, to add entries to before building."""
    return PatientSketch(myositis_facts, options)
