"""The facts layer's fast path: a laboratory Observation of the common shape, read by one function.

Why it exists: a long-followed chart sends thousands of results of the same few tests, nearly all of one shape.
Read by the general path (observations.py -> Collector.match, fhir_json.effective, values.read_quantity,
values.reference_range), each costs about 5 us, most of it in calls between small readers and in deciding again,
for every Observation, what depends only on its coding and its unit. Here that shape is read in one function,
and what depends on the coding (the concept and its canonical unit) or on the unit (the conversion) is decided
once per distinct value in the call (the tables live in the per-call `Collector`, so they are bounded by what
the call sent and go with it).

The shape: status final/amended/corrected; a `code` whose codings name exactly one concept, of kind `lab`; an
`effectiveDateTime` that is a date-time (or any date `parse_datetime` reads); a `valueQuantity` with a finite
number, no comparator and a unit the concept's table converts. `build_facts` reads every Observation with
`read_observation_fast`: anything not of this shape makes `read_common_lab` return False before any side
effect, and the general path (`observations.read_observation`) reads it, so the facts are the same by
construction. Each step below mirrors the general reader it stands for (named in its comment), and
tests/unit/facts/test_common_lab.py checks, for generated Observations near and off this shape, that both
paths give equal results and issues.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from math import isfinite
from typing import Any

from cds_service.facts import units
from cds_service.facts.collector import Collector, LabCoding
from cds_service.facts.dates import parse_datetime
from cds_service.facts.fhir_json import UCUM, fast_constructor
from cds_service.facts.model import LabResult, ResourceRef
from cds_service.facts.observations import ACTING, read_observation
from cds_service.facts.values import limit_value

_lab_result = fast_constructor(LabResult)
_resource_ref = fast_constructor(ResourceRef)
_fromisoformat = datetime.fromisoformat


def read_observation_fast(facts: Collector, obs: Mapping[str, Any]) -> None:
    """Read one Observation (build_facts's reader): the common lab shape here, anything else by the general path."""
    if not read_common_lab(facts, obs):
        read_observation(facts, obs)


def read_common_lab(facts: Collector, obs: Mapping[str, Any]) -> bool:
    """Append the LabResult of an Observation of the common shape and return True; else change nothing, False."""
    status = obs.get("status")
    if type(status) is not str or status not in ACTING:  # observations._status_problem: these act, no issue
        return False
    # Collector.match: one coding read through the per-call table; several through match itself.
    code = obs.get("code")
    if type(code) is not dict:
        return False
    codings = code.get("coding")
    if type(codings) is not list or not codings:
        return False
    coding = codings[0]
    if len(codings) == 1 and type(coding) is dict:
        system, value = coding.get("system"), coding.get("code")
        if type(system) is not str or type(value) is not str:
            return False
        key = (system, value)
        lab = facts.lab_codings.get(key)
        if lab is None:
            lab = facts.lab_codings[key] = _lab_of(facts, facts.match(code))
    else:
        lab = _lab_of(facts, facts.match(code))
    if not lab:
        return False
    concept, canonical_unit, conversions = lab
    # fhir_json.effective -> dates.parse_datetime: a date-time (length 16 or more, "T" at 10) is fromisoformat's.
    raw = obs.get("effectiveDateTime")
    if type(raw) is not str:
        return False
    if len(raw) > 15 and raw[10] == "T":
        try:
            when = _fromisoformat(raw)
        except ValueError:
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    else:
        found = parse_datetime(raw)
        if found is None:
            return False
        when = found
    # values.read_quantity, its "common case" branch.
    quantity = obs.get("valueQuantity")
    if type(quantity) is not dict or quantity.get("comparator") is not None:
        return False
    number = quantity.get("value")
    if type(number) is not float:
        if type(number) is not int:
            return False
        try:
            number = float(number)  # fhir_json.as_number
        except OverflowError:
            return False
    elif not isfinite(number):
        return False
    # fhir_json.quantity_unit: the UCUM code when the system is UCUM, else the unit text.
    sent_code, text = quantity.get("code"), quantity.get("unit")
    if isinstance(sent_code, str) and sent_code and quantity.get("system") == UCUM:
        unit = sent_code
    elif isinstance(text, str):
        unit = text
    else:
        unit = sent_code if isinstance(sent_code, str) else ""
    conversion = conversions.get(unit)
    if conversion is None:
        if unit in conversions:
            return False
        conversion = conversions[unit] = units.conversion(concept, unit)
        if conversion is None:
            return False
    value = conversion.apply(number)
    if not isfinite(value):
        return False
    shown = text if isinstance(text, str) and text else unit
    # values.reference_range: the first range, each limit by the general reader of a limit.
    low = high = None
    ranges = obs.get("referenceRange")
    if ranges:
        first = ranges[0] if isinstance(ranges, list) else None
        if isinstance(first, dict):
            low = limit_value(concept, first.get("low"), conversion, unit)
            high = limit_value(concept, first.get("high"), conversion, unit)
    ident = obs.get("id")
    ref = _resource_ref("Observation", ident if isinstance(ident, str) else "")
    facts.labs.append(_lab_result(
        concept, value, canonical_unit, when, status, ref, True, None, low, high,
        f"{number:g} {shown}" if shown else f"{number:g}",
    ))
    return True


def _lab_of(facts: Collector, concepts: tuple[str, ...]) -> LabCoding:
    """The concept, canonical unit and unit table of a code naming one lab concept; () for any other code."""
    if len(concepts) != 1 or facts.kinds[concepts[0]] != "lab":
        return ()
    concept = concepts[0]
    conversions = facts.lab_conversions.get(concept)
    if conversions is None:
        conversions = facts.lab_conversions[concept] = {}
    return concept, facts.canonical_units[concept], conversions
