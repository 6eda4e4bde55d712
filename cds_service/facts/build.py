"""Build `PatientFacts` from plain FHIR dicts: the only module that reads FHIR shapes.

Hand-written dict walking on purpose (style-guide principle 8, terminology.md section 5): validating every
resource with fhir.resources costs about 35 times the JSON parse and FHIRPath about 400 times a dict walk, so
the request path reads the few fields it needs from the orjson dicts. Every field is type-checked before it
is used (a FHIR server or a client may send anything), with exact `isinstance(x, dict)` checks: orjson gives
dicts, and a check against the Mapping ABC costs several times more. Codes are matched with one dict lookup per
coding, keyed by (system, code), built once at start-up by `valuesets.load_valuesets`.

What counts (issue #4, clinical-evidence.md section 5.0):
* Observations: final/amended/corrected act; preliminary are kept with `usable=False` and problem
  "preliminary" (shown, never fire); entered-in-error, cancelled and registered (no result yet) are
  ignored; any other status is kept unusable and reported as a DataIssue.
* Conditions: verificationStatus entered-in-error or refuted are ignored; `current` = clinicalStatus
  active, recurrence or relapse.
* Procedures: completed = a test done; not-done with a statusReason = a test declined. DiagnosticReport:
  final/amended/corrected (and appended, a kind of amended). ImagingStudy: available.
* Values: an unknown unit, a missing number, or a value reported as a limit (`<5`, `>1500`, through
  `valueQuantity.comparator` or a string) is unusable: it could be on either side of a threshold, so it
  never fires a card; the result is kept with its problem and listed in `issues`.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from datetime import date, datetime, timedelta
from typing import Any, Final, TypeVar

from cds_service.facts import positivity as pos
from cds_service.facts import units
from cds_service.facts.dates import add_age, decimal_age, parse_date, parse_datetime
from cds_service.facts.growth import bmi_for_age_z
from cds_service.facts.model import (
    AntibodyResult,
    DataIssue,
    Growth,
    LabResult,
    Onset,
    PatientFacts,
    Positivity,
    Problem,
    ResourceRef,
    TestDeclined,
    TestDone,
)
from cds_service.facts.valuesets import CONCEPTS, ValueSets

T = TypeVar("T")
UCUM: Final = "http://unitsofmeasure.org"
ACTING: Final = frozenset({"final", "amended", "corrected"})
REPORT_ACTING: Final = ACTING | {"appended"}
IGNORED_OBSERVATION: Final = frozenset({"entered-in-error", "cancelled", "registered"})
IGNORED_VERIFICATION: Final = frozenset({"entered-in-error", "refuted"})
CURRENT_CLINICAL: Final = frozenset({"active", "recurrence", "relapse"})
COMPARATORS: Final = frozenset({"<", "<=", ">=", ">"})
ANTIBODY: Final = "anti-nxp2"
FIRST_ANTIBODY_SOURCE: Final = "first anti-NXP2 result"

# A resource whose shape defeats the type checks below is dropped with a DataIssue, never a 500. The
# property tests assert that this net is never needed for the shapes they generate.
UNEXPECTED: Final = (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError)
UNREADABLE_CONCEPT: Final = "unreadable resource"


# --- small typed readers ------------------------------------------------------------------------------


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    """Return a finite JSON number as float; booleans, strings and huge integers are not numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _mapping(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, dict) else None


def _codings(codeable: Any) -> list[tuple[str, str, str]]:
    """Return (system, code, display) of each coding of a CodeableConcept."""
    if not isinstance(codeable, dict):
        return []
    found = []
    for coding in _list(codeable.get("coding")):
        if isinstance(coding, dict):
            found.append((_str(coding.get("system")), _str(coding.get("code")), _str(coding.get("display"))))
    return found


def _text_of(codeable: Any) -> str:
    """Return the human text of a CodeableConcept: its text, else the first display or code."""
    if not isinstance(codeable, dict):
        return codeable if isinstance(codeable, str) else ""
    text = codeable.get("text")
    if isinstance(text, str) and text:
        return text
    for coding in _list(codeable.get("coding")):
        if isinstance(coding, dict):
            shown = _str(coding.get("display")) or _str(coding.get("code"))
            if shown:
                return shown
    return ""


def _status_code(codeable: Any) -> str:
    """Return the code of a status CodeableConcept (or of an STU3-style plain string)."""
    if isinstance(codeable, str):
        return codeable
    if not isinstance(codeable, dict):
        return ""
    for coding in _list(codeable.get("coding")):
        if isinstance(coding, dict):
            code = coding.get("code")
            if isinstance(code, str) and code:
                return code
    return ""


def _ref(resource: Mapping[str, Any], resource_type: str) -> ResourceRef:
    return ResourceRef(resource_type, _str(resource.get("id")))


def _period_start(period: Any) -> datetime | None:
    if not isinstance(period, dict):
        return None
    return parse_datetime(period.get("start")) or parse_datetime(period.get("end"))


def _effective(resource: Mapping[str, Any]) -> datetime | None:
    """Return effective[x] of an Observation or DiagnosticReport: dateTime, instant, or Period start/end."""
    return (
        parse_datetime(resource.get("effectiveDateTime"))
        or _period_start(resource.get("effectivePeriod"))
        or parse_datetime(resource.get("effectiveInstant"))
    )


def _fmt(value: float) -> str:
    return f"{value:g}"


def _fast_constructor(cls: type[T]) -> Callable[..., T]:
    """Return a positional constructor for a frozen dataclass that fills the instance dict directly.

    Why: a frozen dataclass sets each field through object.__setattr__, which for LabResult's 11 fields is about
    1.5 us, a quarter of the time per Observation. The object is the same (frozen, equal and hashed like one
    built by the class; tests/unit/facts/test_labs.py checks it). A class with __slots__ or __post_init__ falls
    back to its own constructor.
    """
    if "__slots__" in vars(cls) or hasattr(cls, "__post_init__"):
        return cls
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    new = object.__new__

    def construct(*values: Any) -> T:
        instance = new(cls)
        instance.__dict__.update(zip(names, values, strict=True))
        return instance

    return construct


_lab_result = _fast_constructor(LabResult)
_resource_ref = _fast_constructor(ResourceRef)

# --- the builder ----------------------------------------------------------------------------------------


class _Builder:
    """Collect facts resource by resource; `facts()` resolves onset and growth at the end."""

    def __init__(self, patient: Mapping[str, Any], now: datetime, valuesets: ValueSets) -> None:
        self.valuesets = valuesets
        self.by_code = valuesets.by_code
        self.antibody_text = valuesets.text_matchers.get(ANTIBODY)
        self.cutoffs = valuesets.cutoffs(ANTIBODY)
        self.now = now
        gender = patient.get("gender")
        self.patient_id = _str(patient.get("id"))
        self.birth_date: date | None = parse_date(patient.get("birthDate"))
        self.sex: str | None = gender if isinstance(gender, str) and gender else None
        self.antibodies: list[AntibodyResult] = []
        self.labs: list[LabResult] = []
        self.problems: list[Problem] = []
        self.myositis: list[tuple[datetime | None, str, datetime | None, ResourceRef]] = []
        self.tests_done: list[TestDone] = []
        self.tests_declined: list[TestDeclined] = []
        self.issues: list[DataIssue] = []
        self.handlers: dict[str, Callable[[Mapping[str, Any]], None]] = {
            "Observation": self.observation,
            "Condition": self.condition,
            "Procedure": self.procedure,
            "DiagnosticReport": self.diagnostic_report,
            "ImagingStudy": self.imaging_study,
        }

    def add(self, resource: Any) -> None:
        if not isinstance(resource, dict):
            return
        resource_type = resource.get("resourceType")
        if not isinstance(resource_type, str):
            return
        handler = self.handlers.get(resource_type)
        if handler is None:
            return
        try:
            handler(resource)
        except UNEXPECTED as error:
            self.issues.append(DataIssue(
                UNREADABLE_CONCEPT, _ref(resource, resource_type),
                f"{resource_type} could not be read ({type(error).__name__})",
            ))

    # --- code matching ----------------------------------------------------------------------------------

    def match(self, codeable: Any) -> tuple[str, ...]:
        """Return the concepts of a CodeableConcept's codings: an exact (system, code) lookup first."""
        if not isinstance(codeable, dict):
            return ()
        codings = codeable.get("coding")
        if not isinstance(codings, list):
            return ()
        found: tuple[str, ...] = ()
        for coding in codings:
            if not isinstance(coding, dict):
                continue
            system = coding.get("system")
            code = coding.get("code")
            if not isinstance(system, str) or not isinstance(code, str):
                continue
            hit = self.by_code.get((system, code))
            if hit is None:
                hit = self.valuesets.lookup(system, code)  # aliases, ICD-10-CM dots, prefixes; remembered
            if hit:
                found = hit if not found else found + tuple(c for c in hit if c not in found)
        return found

    def names_antibody(self, codeable: Any) -> bool:
        """True when code.text or a coding.display names anti-NXP2 (it has no standard code)."""
        matcher = self.antibody_text
        if matcher is None or not isinstance(codeable, dict):
            return False
        texts = []
        codings = codeable.get("coding")
        if isinstance(codings, list):
            for coding in codings:
                display = coding.get("display") if isinstance(coding, dict) else None
                if isinstance(display, str) and display:
                    texts.append(display)
        text = codeable.get("text")
        if isinstance(text, str) and text:
            texts.append(text)
        return bool(texts) and matcher.matches(texts)

    # --- Observation ------------------------------------------------------------------------------------

    def observation(self, obs: Mapping[str, Any]) -> None:
        status = obs.get("status")
        if not isinstance(status, str):
            status = ""
        elif status in IGNORED_OBSERVATION:
            return
        code = obs.get("code")
        concepts = self.match(code)
        if not concepts and self.names_antibody(code):
            concepts = (ANTIBODY,)
        if not concepts:
            self.components(obs, status)
            return
        ref = _resource_ref("Observation", _str(obs.get("id")))
        effective = _effective(obs)
        for concept in concepts:
            if CONCEPTS[concept] == "lab":
                self.lab(concept, obs, status, effective, ref)
            else:
                self.observed(concept, obs, status, effective, ref, obs)

    def components(self, obs: Mapping[str, Any], status: str) -> None:
        """A panel sent as one Observation with a component per analyte (line blots often are)."""
        parts = obs.get("component")
        if not isinstance(parts, list):
            return
        ref: ResourceRef | None = None
        effective: datetime | None = None
        for component in parts:
            if not isinstance(component, dict):
                continue
            code = component.get("code")
            concepts = self.match(code) or ((ANTIBODY,) if self.names_antibody(code) else ())
            for concept in concepts:
                if ref is None:
                    ref, effective = ResourceRef("Observation", _str(obs.get("id"))), _effective(obs)
                self.observed(concept, component, status, effective, ref, obs)

    def observed(
        self, concept: str, holder: Mapping[str, Any], status: str, effective: datetime | None, ref: ResourceRef,
        obs: Mapping[str, Any],
    ) -> None:
        kind = CONCEPTS[concept]
        if kind == "lab":
            self.lab(concept, holder, status, effective, ref)
        elif kind == "antibody":
            self.antibody(holder, status, effective, ref, _text_of(obs.get("method")))
        elif kind == "problem":
            self.finding(concept, holder, status, effective, ref, _text_of(holder.get("code")))

    def status_problem(self, concept: str, status: str, ref: ResourceRef) -> str | None:
        """Return why a status cannot act (None for final/amended/corrected); odd statuses are issues."""
        if status in ACTING:
            return None
        if status == "preliminary":
            return "preliminary"
        problem = f"status '{status}'" if status else "no status"
        self.issues.append(DataIssue(concept, ref, problem))
        return problem

    def lab(
        self, concept: str, holder: Mapping[str, Any], status: str, effective: datetime | None, ref: ResourceRef
    ) -> None:
        value, display, problem, conversion, unit = self.read_quantity(concept, holder)
        low = high = None
        ranges = holder.get("referenceRange") if conversion is not None else None
        if ranges:
            low, high = _reference_range(concept, ranges, conversion, unit)  # type: ignore[arg-type]
        if problem is None and effective is None:
            problem = "no date"
        if problem is not None:
            self.issues.append(DataIssue(concept, ref, problem))
            value = None
        status_problem = None if status in ACTING else self.status_problem(concept, status, ref)
        self.labs.append(_lab_result(
            concept, value, units.CANONICAL[concept], effective, status, ref,
            problem is None and status_problem is None, problem or status_problem, low, high, display,
        ))

    def read_quantity(
        self, concept: str, holder: Mapping[str, Any]
    ) -> tuple[float | None, str, str | None, units.Conversion | None, str]:
        """Return (canonical value, value as sent, problem, conversion, unit as sent) of a numeric result."""
        quantity = holder.get("valueQuantity")
        if isinstance(quantity, dict):
            unit = _quantity_unit(quantity)
            raw = quantity.get("value")
            # float/int checked by exact type: bool is not a number here, and a huge int fails float() below.
            number = raw if type(raw) is float and math.isfinite(raw) else _number(raw)
            comparator = quantity.get("comparator")
            shown_unit = quantity.get("unit")
            if not isinstance(shown_unit, str) or not shown_unit:
                shown_unit = unit
            conversion = units.conversion(concept, unit)
            if number is not None and comparator is None and conversion is not None:  # the common case
                value = conversion.apply(number)
                if math.isfinite(value):
                    return value, f"{number:g} {shown_unit}" if shown_unit else f"{number:g}", None, conversion, unit
            comparator = _str(comparator)
            display = f"{comparator}{_fmt(number) if number is not None else '?'} {shown_unit}".strip()
            if number is None:
                return None, display, "no numeric value", conversion, unit
            if comparator in COMPARATORS:
                return None, display, f"value reported as a limit ({comparator}{_fmt(number)})", conversion, unit
            if comparator:
                return None, display, f"unknown comparator '{comparator[:20]}'", conversion, unit
            if conversion is None:
                return None, display, f"unknown unit '{unit[:40]}'" if unit else "no unit", None, unit
            return None, display, "no value", None, unit
        if concept == "ana":
            titre = _titre(holder)
            if titre is not None:
                return titre, f"1:{_fmt(titre)}", None, units.SAME, ""
        text = holder.get("valueString")
        if isinstance(text, str):
            shown = text.strip()[:40]
            if shown[:1] in "<>":
                return None, shown, f"value reported as a limit ({shown})", None, ""
            return None, shown, f"value is text, not a number with a unit ('{shown}')", None, ""
        absent = _text_of(holder.get("dataAbsentReason"))
        if absent:
            return None, "", f"no value ({absent[:40]})", None, ""
        return None, "", "no value", None, ""

    def antibody(
        self, holder: Mapping[str, Any], status: str, effective: datetime | None, ref: ResourceRef, method: str
    ) -> None:
        state, intensity, problem = self.read_positivity(holder, use_cutoffs=True)
        if problem is None and effective is None:
            problem = "no date"
        if problem is not None:
            self.issues.append(DataIssue(ANTIBODY, ref, problem))
        status_problem = self.status_problem(ANTIBODY, status, ref)
        quantity = holder.get("valueQuantity")
        cutoff = (
            self.cutoffs.positive_above
            if intensity is not None and self.cutoffs is not None and isinstance(quantity, dict)
            and self.cutoffs.applies_to(_quantity_unit(quantity))
            else None
        )
        self.antibodies.append(AntibodyResult(
            positivity=state,
            effective=effective,
            status=status,
            ref=ref,
            usable=problem is None and status_problem is None,
            intensity=intensity,
            method=method,
            problem=problem or status_problem,
            intensity_cutoff=cutoff,
        ))

    def finding(
        self, concept: str, holder: Mapping[str, Any], status: str, effective: datetime | None,
        ref: ResourceRef, display: str,
    ) -> None:
        """A coded clinical finding Observation (positive FOBT, abdominal pain) is a current problem."""
        if status not in ACTING:
            return
        if _has_value(holder):
            state, _, problem = self.read_positivity(holder, use_cutoffs=False)
            if problem is not None:
                self.issues.append(DataIssue(concept, ref, problem))
            if state is not Positivity.POSITIVE:
                return
        # An Observation of a finding with no value asserts the finding.
        self.problems.append(Problem(
            concept=concept, current=True, clinical_status="active", onset=effective, recorded=effective,
            ref=ref, display=display,
        ))

    def read_positivity(
        self, holder: Mapping[str, Any], *, use_cutoffs: bool
    ) -> tuple[Positivity, float | None, str | None]:
        """Return (positivity, numeric intensity, problem) from value[x], interpretation and ranges."""
        stated = _stated_positivity(holder)
        flagged = _interpreted_positivity(holder)
        quantity = holder.get("valueQuantity")
        intensity = _number(quantity.get("value")) if isinstance(quantity, dict) else None
        if flagged is Positivity.UNREADABLE:
            return Positivity.UNREADABLE, intensity, "interpretation flags disagree"
        if stated is not None and flagged is not None and stated is not flagged:
            return (
                Positivity.UNREADABLE, intensity,
                f"value says {stated.value} but interpretation says {flagged.value}",
            )
        if stated is not None:
            return stated, intensity, None
        if flagged is not None:
            return flagged, intensity, None
        if isinstance(quantity, dict):
            return self.quantity_positivity(holder, quantity, intensity, use_cutoffs=use_cutoffs)
        text = holder.get("valueString")
        if isinstance(text, str):
            return Positivity.UNREADABLE, None, f"result text not understood ('{text.strip()[:40]}')"
        return Positivity.UNREADABLE, None, "no readable result"

    def quantity_positivity(
        self, holder: Mapping[str, Any], quantity: Mapping[str, Any], intensity: float | None, *, use_cutoffs: bool
    ) -> tuple[Positivity, float | None, str | None]:
        if intensity is None:
            return Positivity.UNREADABLE, None, "no numeric value"
        unit = _quantity_unit(quantity)
        state = pos.from_range(intensity, *_raw_range(holder))
        if state is None and use_cutoffs and self.cutoffs is not None:
            state = pos.from_cutoffs(intensity, unit, self.cutoffs)
        if state is None:
            return Positivity.UNREADABLE, intensity, f"no reference range or cut-off for unit '{unit[:40]}'"
        comparator = _str(quantity.get("comparator"))
        # "<5" can only be read as negative and ">100" only as positive; anything else is ambiguous.
        if (comparator in ("<", "<=") and state is not Positivity.NEGATIVE) or (
            comparator in (">", ">=") and state is not Positivity.POSITIVE
        ):
            return Positivity.UNREADABLE, intensity, f"value reported as a limit ({comparator}{_fmt(intensity)})"
        if comparator and comparator not in COMPARATORS:
            return Positivity.UNREADABLE, intensity, f"unknown comparator '{comparator[:20]}'"
        return state, intensity, None

    # --- Condition --------------------------------------------------------------------------------------

    def condition(self, cond: Mapping[str, Any]) -> None:
        if _status_code(cond.get("verificationStatus")) in IGNORED_VERIFICATION:
            return
        concepts = [c for c in self.match(cond.get("code")) if CONCEPTS[c] == "problem"]
        if not concepts:
            return
        ref = _ref(cond, "Condition")
        clinical = _status_code(cond.get("clinicalStatus"))
        onset, source = self.condition_onset(cond)
        recorded = parse_datetime(cond.get("recordedDate"))
        display = _text_of(cond.get("code"))
        for concept in concepts:
            self.problems.append(Problem(
                concept=concept, current=clinical in CURRENT_CLINICAL, clinical_status=clinical, onset=onset,
                recorded=recorded, ref=ref, display=display,
            ))
        if "myositis" in concepts:
            self.myositis.append((onset, source, recorded, ref))

    def condition_onset(self, cond: Mapping[str, Any]) -> tuple[datetime | None, str]:
        """Return onset from onsetDateTime, onsetAge (with the birth date) or onsetPeriod.start."""
        when = parse_datetime(cond.get("onsetDateTime"))
        if when is not None:
            return when, "onsetDateTime"
        age = cond.get("onsetAge")
        if isinstance(age, dict) and self.birth_date is not None:
            value = _number(age.get("value"))
            unit = _str(age.get("code")) or _str(age.get("unit"))
            when = add_age(self.birth_date, value, _AGE_UNITS.get(unit, unit)) if value is not None else None
            if when is not None:
                return when, "onsetAge"
        period = cond.get("onsetPeriod")
        when = parse_datetime(period.get("start")) if isinstance(period, dict) else None
        if when is not None:
            return when, "onsetPeriod"
        return None, ""

    # --- tests: Procedure, DiagnosticReport, ImagingStudy -------------------------------------------------

    def tests_of(self, codeable: Any) -> list[str]:
        return [c for c in self.match(codeable) if CONCEPTS[c] == "test"]

    def procedure(self, proc: Mapping[str, Any]) -> None:
        status = _str(proc.get("status"))
        if status not in ("completed", "not-done"):
            return
        concepts = self.tests_of(proc.get("code"))
        if not concepts:
            return
        ref = _ref(proc, "Procedure")
        performed = parse_datetime(proc.get("performedDateTime")) or _period_start(proc.get("performedPeriod"))
        if status == "completed":
            self.tests_done.extend(TestDone(concept, performed, ref) for concept in concepts)
            return
        reason = _text_of(proc.get("statusReason"))
        if not reason:
            return
        meta = _mapping(proc.get("meta"))
        recorded = performed or (parse_datetime(meta.get("lastUpdated")) if meta is not None else None)
        self.tests_declined.extend(TestDeclined(concept, recorded, reason, ref) for concept in concepts)

    def diagnostic_report(self, report: Mapping[str, Any]) -> None:
        if _str(report.get("status")) not in REPORT_ACTING:
            return
        concepts = self.tests_of(report.get("code"))
        if concepts:
            performed = _effective(report) or parse_datetime(report.get("issued"))
            ref = _ref(report, "DiagnosticReport")
            self.tests_done.extend(TestDone(concept, performed, ref) for concept in concepts)

    def imaging_study(self, study: Mapping[str, Any]) -> None:
        if _str(study.get("status")) != "available":
            return
        concepts: list[str] = []
        for codeable in _list(study.get("procedureCode")):
            concepts.extend(c for c in self.tests_of(codeable) if c not in concepts)
        if concepts:
            performed = parse_datetime(study.get("started"))
            ref = _ref(study, "ImagingStudy")
            self.tests_done.extend(TestDone(concept, performed, ref) for concept in concepts)

    # --- end: onset and growth ----------------------------------------------------------------------------

    def onset(self) -> Onset | None:
        """Earliest stated onset of a myositis Condition; else its recordedDate; else the first positive
        anti-NXP2 result (both approximate). Without a myositis Condition there is no onset to estimate."""
        stated = [(when, source, ref) for when, source, _, ref in self.myositis if when is not None]
        if stated:
            when, source, ref = min(stated, key=lambda item: item[0])
            return Onset(when, source, approximate=False, ref=ref)
        recorded = [(when, ref) for _, _, when, ref in self.myositis if when is not None]
        if recorded:
            when, ref = min(recorded, key=lambda item: item[0])
            return Onset(when, "recordedDate", approximate=True, ref=ref)
        if not self.myositis:
            return None
        positives = [
            a for a in self.antibodies if a.usable and a.positivity is Positivity.POSITIVE and a.effective is not None
        ]
        if not positives:
            return None
        first = min(positives, key=lambda a: a.effective or self.now)
        assert first.effective is not None
        return Onset(first.effective, FIRST_ANTIBODY_SOURCE, approximate=True, ref=first.ref)

    def growth(self) -> tuple[Growth, ...]:
        """BMI from BMI Observations, and from weight and height taken close enough together."""
        settings = self.valuesets.growth
        usable = [lab for lab in self.labs if lab.usable and lab.value is not None and lab.effective is not None]
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
        return tuple(self.with_z(bmi, measured, refs) for bmi, measured, refs in found)

    def with_z(self, bmi: float, measured: datetime, refs: tuple[ResourceRef, ...]) -> Growth:
        settings = self.valuesets.growth
        if self.birth_date is None:
            return Growth(bmi, measured, refs, problem="no birth date: age unknown, BMI-for-age z not computed")
        age = decimal_age(self.birth_date, measured)
        if age >= settings.z_below_age:
            return Growth(bmi, measured, refs)
        if age < 0:
            return Growth(bmi, measured, refs, problem="measured before the birth date")
        z = bmi_for_age_z(bmi, age, self.sex, settings.z_reference)
        return Growth(bmi, measured, refs, z_score=z.z, reference=z.reference, problem=z.problem)

    def facts(self, unavailable: Sequence[str]) -> PatientFacts:
        return PatientFacts(
            patient_id=self.patient_id,
            birth_date=self.birth_date,
            sex=self.sex,
            antibodies=tuple(self.antibodies),
            labs=tuple(self.labs),
            problems=tuple(self.problems),
            tests_done=tuple(self.tests_done),
            tests_declined=tuple(self.tests_declined),
            onset=self.onset(),
            growth=self.growth(),
            issues=tuple(self.issues),
            unavailable=tuple(str(key) for key in unavailable),
        )


# --- helpers on values ----------------------------------------------------------------------------------

# Age units as sent in Age.code (UCUM) or Age.unit (text).
_AGE_UNITS: Final = {"year": "a", "years": "a", "yr": "a", "y": "a", "month": "mo", "months": "mo",
                     "week": "wk", "weeks": "wk", "day": "d", "days": "d"}


def _quantity_unit(quantity: Mapping[str, Any]) -> str:
    """The UCUM code when the system is UCUM, else the unit text (terminology.md section 4a)."""
    code = quantity.get("code")
    if quantity.get("system") == UCUM and isinstance(code, str) and code:
        return code
    unit = quantity.get("unit")
    if isinstance(unit, str):
        return unit
    return code if isinstance(code, str) else ""


def _raw_range(holder: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """Return low and high of the first referenceRange, as sent."""
    ranges = holder.get("referenceRange")
    first = ranges[0] if isinstance(ranges, list) and ranges else None
    if not isinstance(first, dict):
        return None, None
    low, high = first.get("low"), first.get("high")
    return (
        _number(low.get("value")) if isinstance(low, dict) else None,
        _number(high.get("value")) if isinstance(high, dict) else None,
    )


def _reference_range(
    concept: str, ranges: Any, value_conversion: units.Conversion, value_unit: str
) -> tuple[float | None, float | None]:
    """Return the first referenceRange in the canonical unit (a limit in an unknown unit is dropped)."""
    first = ranges[0] if isinstance(ranges, list) else None
    if not isinstance(first, dict):
        return None, None
    return (
        _limit(concept, first.get("low"), value_conversion, value_unit),
        _limit(concept, first.get("high"), value_conversion, value_unit),
    )


def _limit(concept: str, limit: Any, value_conversion: units.Conversion, value_unit: str) -> float | None:
    if not isinstance(limit, dict):
        return None
    raw = limit.get("value")
    number = raw if type(raw) is float and math.isfinite(raw) else _number(raw)
    if number is None:
        return None
    if limit.get("code") == value_unit or limit.get("unit") == value_unit:
        conversion: units.Conversion | None = value_conversion  # the usual case: the value's own unit
    else:
        unit = _quantity_unit(limit)
        conversion = value_conversion if not unit else units.conversion(concept, unit)
    return conversion.apply(number) if conversion is not None else None


def _titre(holder: Mapping[str, Any]) -> float | None:
    """Return N of an ANA titre sent as "1:N" (valueString) or as a Ratio 1/N."""
    text = holder.get("valueString")
    if isinstance(text, str):
        head, _, tail = text.strip().partition(":")
        if head.strip() == "1" and tail.strip().isdigit():
            return float(tail.strip())
        return None
    ratio = holder.get("valueRatio")
    if isinstance(ratio, dict):
        numerator, denominator = ratio.get("numerator"), ratio.get("denominator")
        top = _number(numerator.get("value")) if isinstance(numerator, dict) else None
        bottom = _number(denominator.get("value")) if isinstance(denominator, dict) else None
        if top == 1 and bottom is not None and bottom > 0:
            return bottom
    return None


def _has_value(holder: Mapping[str, Any]) -> bool:
    return any(
        key in holder
        for key in ("valueCodeableConcept", "valueString", "valueBoolean", "valueQuantity", "interpretation",
                    "dataAbsentReason")
    )


def _stated_positivity(holder: Mapping[str, Any]) -> Positivity | None:
    """Positivity stated by value[x]: a coded qualifier, its text, a string or a boolean."""
    coded = holder.get("valueCodeableConcept")
    if isinstance(coded, dict):
        for system, code, display in _codings(coded):
            found = pos.from_code(system, code) or (pos.from_text(display) if display else None)
            if found is not None:
                return found
        text = coded.get("text")
        return pos.from_text(text) if isinstance(text, str) else None
    text = holder.get("valueString")
    if isinstance(text, str):
        return pos.from_text(text)
    flag = holder.get("valueBoolean")
    if isinstance(flag, bool):
        return Positivity.POSITIVE if flag else Positivity.NEGATIVE
    return None


def _interpreted_positivity(holder: Mapping[str, Any]) -> Positivity | None:
    """Positivity from the interpretation flags (POS/DET/H/A, NEG/ND/N, IND/E); UNREADABLE when they disagree."""
    found: Positivity | None = None
    for codeable in _list(holder.get("interpretation")):
        state = None
        for system, code, _ in _codings(codeable):
            state = pos.from_interpretation(system, code)
            if state is not None:
                break
        if state is None and isinstance(codeable, dict):
            text = codeable.get("text")
            state = pos.from_text(text) if isinstance(text, str) else None
        if state is not None:
            if found is not None and found is not state:
                return Positivity.UNREADABLE
            found = state
    return found


def _nearest(times: list[datetime], when: datetime) -> int | None:
    """Return the index of the time closest to `when` in a sorted list, or None for an empty list."""
    if not times:
        return None
    index = bisect_left(times, when)
    candidates = [i for i in (index - 1, index) if 0 <= i < len(times)]
    return min(candidates, key=lambda i: abs(times[i] - when))


def build_facts(
    patient: Mapping[str, Any],
    resources: Sequence[Mapping[str, Any]],
    now: datetime,
    valuesets: ValueSets,
    *,
    unavailable: Sequence[str] = (),
) -> PatientFacts:
    """Return the facts of one patient from its Patient resource and the other resources received."""
    builder = _Builder(patient, now, valuesets)
    for resource in resources:
        builder.add(resource)
    return builder.facts(unavailable)
