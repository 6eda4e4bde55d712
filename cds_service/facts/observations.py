"""Observations (and the components of a panel): numeric results, anti-NXP2 results and coded findings.

What counts (issue #4, clinical-evidence.md section 5.0): final/amended/corrected act; preliminary are kept
with `usable=False` and problem "preliminary" (shown, never fire); entered-in-error, cancelled and registered
(no result yet) are ignored; any other status is kept unusable and reported as a DataIssue. How a value is
read is `values.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from cds_service.facts.collector import ANTIBODY, Collector
from cds_service.facts.fhir_json import as_str, effective, fast_constructor, quantity_unit, text_of
from cds_service.facts.model import AntibodyResult, DataIssue, LabResult, Positivity, Problem, ResourceRef
from cds_service.facts.values import has_value, read_positivity, read_quantity, reference_range

ACTING: Final = frozenset({"final", "amended", "corrected"})
IGNORED_OBSERVATION: Final = frozenset({"entered-in-error", "cancelled", "registered"})

_lab_result = fast_constructor(LabResult)
_resource_ref = fast_constructor(ResourceRef)


def read_observation(facts: Collector, obs: Mapping[str, Any]) -> None:
    status = obs.get("status")
    if not isinstance(status, str):
        status = ""
    elif status in IGNORED_OBSERVATION:
        return
    code = obs.get("code")
    concepts = facts.match(code)
    if not concepts and facts.names_antibody(code):
        concepts = (ANTIBODY,)
    if not concepts:
        _components(facts, obs, status)
        return
    ref = _resource_ref("Observation", as_str(obs.get("id")))
    when = effective(obs)
    kinds = facts.kinds
    for concept in concepts:
        if kinds[concept] == "lab":
            _lab(facts, concept, obs, status, when, ref)
        else:
            _observed(facts, concept, obs, status, when, ref, obs)


def _components(facts: Collector, obs: Mapping[str, Any], status: str) -> None:
    """A panel sent as one Observation with a component per analyte (line blots often are)."""
    parts = obs.get("component")
    if not isinstance(parts, list):
        return
    ref: ResourceRef | None = None
    when: datetime | None = None
    for component in parts:
        if not isinstance(component, dict):
            continue
        code = component.get("code")
        concepts = facts.match(code) or ((ANTIBODY,) if facts.names_antibody(code) else ())
        for concept in concepts:
            if ref is None:
                ref, when = ResourceRef("Observation", as_str(obs.get("id"))), effective(obs)
            _observed(facts, concept, component, status, when, ref, obs)


def _observed(
    facts: Collector, concept: str, holder: Mapping[str, Any], status: str, when: datetime | None,
    ref: ResourceRef, obs: Mapping[str, Any],
) -> None:
    kind = facts.kinds[concept]
    if kind == "lab":
        _lab(facts, concept, holder, status, when, ref)
    elif kind == "antibody":
        _antibody(facts, holder, status, when, ref, text_of(obs.get("method")))
    elif kind == "problem":
        _finding(facts, concept, holder, status, when, ref, text_of(holder.get("code")))


def _status_problem(facts: Collector, concept: str, status: str, ref: ResourceRef) -> str | None:
    """Return why a status cannot act (None for final/amended/corrected); odd statuses are issues."""
    if status in ACTING:
        return None
    if status == "preliminary":
        return "preliminary"
    problem = f"status '{status}'" if status else "no status"
    facts.issues.append(DataIssue(concept, ref, problem))
    return problem


def _lab(
    facts: Collector, concept: str, holder: Mapping[str, Any], status: str, when: datetime | None, ref: ResourceRef
) -> None:
    value, display, problem, conversion, unit = read_quantity(concept, holder)
    low = high = None
    ranges = holder.get("referenceRange") if conversion is not None else None
    if ranges:
        low, high = reference_range(concept, ranges, conversion, unit)  # type: ignore[arg-type]
    if problem is None and when is None:
        problem = "no date"
    if problem is not None:
        facts.issues.append(DataIssue(concept, ref, problem))
        value = None
    status_problem = None if status in ACTING else _status_problem(facts, concept, status, ref)
    facts.labs.append(_lab_result(
        concept, value, facts.canonical_units[concept], when, status, ref,
        problem is None and status_problem is None, problem or status_problem, low, high, display,
    ))


def _antibody(
    facts: Collector, holder: Mapping[str, Any], status: str, when: datetime | None, ref: ResourceRef, method: str
) -> None:
    cutoffs = facts.cutoffs
    state, intensity, problem = read_positivity(holder, cutoffs)
    if problem is None and when is None:
        problem = "no date"
    if problem is not None:
        facts.issues.append(DataIssue(ANTIBODY, ref, problem))
    status_problem = _status_problem(facts, ANTIBODY, status, ref)
    quantity = holder.get("valueQuantity")
    cutoff = (
        cutoffs.positive_above
        if intensity is not None and cutoffs is not None and isinstance(quantity, dict)
        and cutoffs.applies_to(quantity_unit(quantity))
        else None
    )
    facts.antibodies.append(AntibodyResult(
        positivity=state,
        effective=when,
        status=status,
        ref=ref,
        usable=problem is None and status_problem is None,
        intensity=intensity,
        method=method,
        problem=problem or status_problem,
        intensity_cutoff=cutoff,
    ))


def _finding(
    facts: Collector, concept: str, holder: Mapping[str, Any], status: str, when: datetime | None,
    ref: ResourceRef, display: str,
) -> None:
    """A coded clinical finding Observation (positive FOBT, abdominal pain) is a current problem."""
    if status not in ACTING:
        return
    if has_value(holder):
        state, _, problem = read_positivity(holder, None)
        if problem is not None:
            facts.issues.append(DataIssue(concept, ref, problem))
        if state is not Positivity.POSITIVE:
            return
    # An Observation of a finding with no value asserts the finding.
    facts.problems.append(Problem(
        concept=concept, current=True, clinical_status="active", onset=when, recorded=when,
        ref=ref, display=display,
    ))
