"""The rule registry, the context a rule receives and the finding it returns.

Imports `facts.model` and the standard library only: rules never see Flask, requests, fhir.resources,
the catalogue or the wire format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType

from cds_service.facts.model import PatientFacts, ResourceRef

DURATION_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "wk": timedelta(weeks=1)}
# Months and years are calendar-free here on purpose: windows of "12 months" mean 365 days.
DURATION_UNITS |= {"mo": timedelta(days=365) / 12, "a": timedelta(days=365)}


@dataclass(frozen=True)
class Param:
    """A catalogue threshold or window: a number with its unit."""

    value: float
    unit: str


@dataclass(frozen=True)
class RuleContext:
    """What a rule knows besides the patient: `now`, its catalogue entry's params and switches, and the names
    of the concepts (each value set's `title` in cards/valuesets/), so a card names a concept as the value set does.
    """

    now: datetime
    params: Mapping[str, Param] = field(default_factory=lambda: MappingProxyType({}))
    switches: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    titles: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def threshold(self, name: str, unit: str) -> float:
        """Return a numeric param, checking that the catalogue gives it in the unit the rule compares in."""
        param = self.params[name]
        if param.unit != unit:
            raise ValueError(f"param {name} is in {param.unit}, the rule compares in {unit}")
        return param.value

    def window(self, name: str) -> timedelta:
        """Return a duration param (unit h, d, wk, mo or a)."""
        param = self.params[name]
        return param.value * DURATION_UNITS[param.unit]

    def switch(self, name: str) -> bool:
        return self.switches[name]

    def title(self, concept: str) -> str:
        """Return the concept's name as cards show it (its value set's title); the concept id if it has none."""
        return self.titles.get(concept, concept)


@dataclass(frozen=True)
class Datum:
    """One piece of patient data that a card shows: what, its value as text, when, and which resource."""

    label: str
    value: str
    when: date | datetime | None = None
    ref: ResourceRef | None = None


@dataclass(frozen=True)
class Finding:
    """What a rule found. The renderer turns it into a card with the catalogue entry's wording.

    - `data`: the patient data that fired the rule (at least one item; no card without it).
    - `values`: named values for the entry's summary and detail templates.
    - `escalation`: the name of one of the entry's escalations (changes indicator and wording), or None.
    - `notes`: catalogue note keys to add to the detail (for example a qualifier that applies here).
    - `gaps`: plain sentences about data that was missing, stale or unreadable.
    """

    rule_id: str
    data: tuple[Datum, ...]
    values: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    escalation: str | None = None
    notes: tuple[str, ...] = ()
    gaps: tuple[str, ...] = ()


RuleFunction = Callable[[PatientFacts, RuleContext], Finding | None]


@dataclass(frozen=True)
class RegisteredRule:
    id: str
    function: RuleFunction
    # param name -> unit the rule compares in ("duration" for a window); the catalogue must agree.
    params: Mapping[str, str]
    switches: tuple[str, ...]
    escalations: tuple[str, ...]
    notes: tuple[str, ...]


class DuplicateRule(ValueError):
    """Two rules claim the same id."""


REGISTRY: dict[str, RegisteredRule] = {}


def rule(
    rule_id: str,
    *,
    params: Mapping[str, str] | None = None,
    switches: tuple[str, ...] = (),
    escalations: tuple[str, ...] = (),
    notes: tuple[str, ...] = (),
    registry: dict[str, RegisteredRule] | None = None,
) -> Callable[[RuleFunction], RuleFunction]:
    """Register a rule under its card id, declaring the params, switches, escalations and notes it uses.

    Raises:
        DuplicateRule: when another function already holds the id.
    """
    target = REGISTRY if registry is None else registry

    def register(function: RuleFunction) -> RuleFunction:
        existing = target.get(rule_id)
        if existing is not None and existing.function is not function:
            raise DuplicateRule(f"rule id {rule_id!r} is registered twice")
        target[rule_id] = RegisteredRule(
            id=rule_id,
            function=function,
            params=MappingProxyType(dict(params or {})),
            switches=switches,
            escalations=escalations,
            notes=notes,
        )
        return function

    return register
