"""Load and validate the catalogue: `services/*.yaml` (discovery entries) and `rules/*.yaml` (cards).

A bad file stops start-up with a `CatalogueError` naming the file and the field. The catalogue and the
rule registry must agree: every rule a service names has a registered function and vice versa, and the
params, switches, escalations and notes a rule declares are present in its entry with the right units.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from cds_service.protocol import OverrideReason, ServiceDefinition
from cds_service.rules.registry import DURATION_UNITS, RegisteredRule
from cds_service.support.yaml_files import load_yaml

Text = Annotated[str, StringConstraints(min_length=1)]
Url = Annotated[str, StringConstraints(pattern=r"^https://[^\s]+$")]
Indicator = Literal["info", "warning", "critical"]
KebabId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]

# A placeholder in a summary template is budgeted this many characters; longer values are cut by render.
SUMMARY_VALUE_WIDTH = 12
SUMMARY_LIMIT = 139
INDICATOR_RANK = {"critical": 0, "warning": 1, "info": 2}


class CatalogueError(ValueError):
    """A catalogue file is missing, unreadable or invalid; the message names file and field."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _check_summary(template: str) -> str:
    budgeted = re.sub(r"\{[^{}]*\}", "x" * SUMMARY_VALUE_WIDTH, template)
    if len(budgeted) > SUMMARY_LIMIT:
        raise ValueError(
            f"summary is {len(budgeted)} characters with placeholders budgeted at {SUMMARY_VALUE_WIDTH}; "
            f"the spec allows fewer than 140"
        )
    return template


class LinkEntry(Strict):
    label: Text
    url: Url


class SourceEntry(Strict):
    label: Text
    url: Url


class KeyEvidence(Strict):
    """The card's one evidence line: a number in words, and the evidence row (by its `source`) it comes from."""

    text: Text
    source: Text


# Card text is short and read by clinicians in the EHR: no internal file name and no bare seed key (S0-S4).
_INTERNAL = re.compile(r"\b(clinical-evidence|verification|terminology)\.md\b|\bS[0-4]\b")


def _check_public(text: str) -> str:
    found = _INTERNAL.search(text)
    if found:
        raise ValueError(f"names {found.group(0)!r}: say what it is (First author year, journal), not our key")
    return text


PublicText = Annotated[Text, AfterValidator(_check_public)]


class CardTemplate(Strict):
    indicator: Indicator
    summary: PublicText
    detail: PublicText  # "what to consider": one to three lines; the evidence page holds the rest
    evidence: KeyEvidence
    source: SourceEntry
    links: list[LinkEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _summary_fits(self) -> CardTemplate:
        _check_summary(self.summary)
        return self


class Escalation(Strict):
    indicator: Indicator
    summary: PublicText | None = None
    detail: PublicText | None = None
    evidence: KeyEvidence | None = None
    suggestions: list[KebabId] | None = None  # the entry's suggestion ids this escalation offers, in order
    links: list[LinkEntry] | None = None  # replaces the card's links (a child's card cites child evidence)

    @model_validator(mode="after")
    def _summary_fits(self) -> Escalation:
        if self.summary is not None:
            _check_summary(self.summary)
        return self


class Evidence(Strict):
    """One evidence row: the finding (`citation`), where in the paper (`where`) and how strong it is."""

    source: PublicText  # "First author year, journal", as the card and the page cite it
    citation: PublicText
    where: PublicText  # the table or section of the paper the numbers come from
    url: Url | None = None
    strength: PublicText
    quality: PublicText | None = None


class EvidencePage(Strict):
    """What the card kind's evidence page says besides the rows: who it is for, why, and what it does not do."""

    for_whom: PublicText
    why: PublicText
    consider: Annotated[list[PublicText], Field(min_length=1)]  # the full advice, panels and intervals
    does_not: Annotated[list[PublicText], Field(min_length=1)]


class ParamEntry(Strict):
    value: float
    unit: Text


class CodingEntry(Strict):
    system: Url | Annotated[str, StringConstraints(pattern=r"^(https?|urn):[^\s]+$")]
    code: Text
    display: Text


class SuggestionEntry(Strict):
    """An order the card proposes: a draft ServiceRequest built from these codes and text."""

    id: KebabId
    label: Text
    text: Text
    codes: Annotated[list[CodingEntry], Field(min_length=1)]


class RuleEntry(Strict):
    id: KebabId
    title: Text
    status: Literal["active", "retired"]
    version: Text
    card: CardTemplate
    escalations: dict[str, Escalation] = Field(default_factory=dict)
    reviewed: date  # when the catalogue entry was last checked against its sources
    page: EvidencePage
    notes: dict[str, PublicText] = Field(default_factory=dict)
    caveats: list[PublicText] = Field(default_factory=list)
    evidence: Annotated[list[Evidence], Field(min_length=1)]
    params: dict[str, ParamEntry] = Field(default_factory=dict)
    switches: dict[str, bool] = Field(default_factory=dict)
    suggestions: list[SuggestionEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _key_evidence_is_a_row(self) -> RuleEntry:
        keys = [self.card.evidence, *(e.evidence for e in self.escalations.values() if e.evidence)]
        for key in keys:
            if self.evidence_row(key.source).url is None:
                raise ValueError(f"evidence line cites {key.source!r}, whose row has no url to link the paper")
        ids = {s.id for s in self.suggestions}
        for name, escalation in self.escalations.items():
            unknown = set(escalation.suggestions or ()) - ids
            if unknown:
                raise ValueError(f"escalation {name} offers suggestions the entry lacks: {sorted(unknown)}")
        return self

    def evidence_row(self, source: str) -> Evidence:
        """The evidence row whose `source` is `source` (a card's evidence line must cite a listed row)."""
        for row in self.evidence:
            if row.source == source:
                return row
        raise ValueError(f"evidence line cites {source!r}, which is not the source of any evidence row")


class ServiceEntry(Strict):
    """A discovery entry plus the private fields the service uses (rules, required keys, override reasons)."""

    id: KebabId
    hook: Literal["patient-view"]
    title: Text
    description: Text
    usageRequirements: Text | None = None
    prefetch: dict[str, Text]
    required_prefetch: list[Text] = Field(default_factory=list)
    rules: list[KebabId]
    override_reasons: Annotated[list[OverrideReason], Field(min_length=1)]

    @model_validator(mode="after")
    def _required_keys_exist(self) -> ServiceEntry:
        missing = [key for key in self.required_prefetch if key not in self.prefetch]
        if missing:
            raise ValueError(f"required_prefetch names keys with no template: {missing}")
        return self

    def definition(self) -> ServiceDefinition:
        """Return the public discovery entry (private fields stripped)."""
        return ServiceDefinition(
            hook=self.hook,
            id=self.id,
            title=self.title,
            description=self.description,
            usageRequirements=self.usageRequirements,
            prefetch=self.prefetch,
        )


class Catalogue(BaseModel):
    """The loaded catalogue. Frozen: callers cannot change what was validated."""

    model_config = ConfigDict(frozen=True)

    services: dict[str, ServiceEntry]
    rules: dict[str, RuleEntry]

    def service(self, service_id: str) -> ServiceEntry | None:
        return self.services.get(service_id)

    def service_definitions(self) -> list[ServiceDefinition]:
        return [entry.definition() for entry in self.services.values()]


def _read_yaml(path: Path) -> Any:
    try:
        return load_yaml(path)
    except (OSError, yaml.YAMLError) as error:
        raise CatalogueError(f"{path}: cannot be read as YAML: {error}") from None


def _validate(model: type[Strict], path: Path) -> Any:
    try:
        return model.model_validate(_read_yaml(path))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise CatalogueError(f"{path}: field {where}: {first['msg']}") from None


def _load_folder(folder: Path, model: type[Strict]) -> dict[str, Any]:
    if not folder.is_dir():
        raise CatalogueError(f"{folder}: catalogue folder is missing")
    entries: dict[str, Any] = {}
    for path in sorted(folder.glob("*.yaml")):
        entry = _validate(model, path)
        if entry.id != path.stem:
            raise CatalogueError(f"{path}: field id: {entry.id!r} must match the file name {path.stem!r}")
        entries[entry.id] = entry
    return entries


def _check_rule_agrees(entry: RuleEntry, registered: RegisteredRule, path: Path) -> None:
    for name, unit in registered.params.items():
        param = entry.params.get(name)
        if param is None:
            raise CatalogueError(f"{path}: field params.{name}: the rule needs it")
        expected_units = set(DURATION_UNITS) if unit == "duration" else {unit}
        if param.unit not in expected_units:
            raise CatalogueError(
                f"{path}: field params.{name}.unit: {param.unit!r}, the rule compares in {unit}"
            )
    for kind, declared, present in (
        ("switches", registered.switches, entry.switches),
        ("escalations", registered.escalations, entry.escalations),
        ("notes", registered.notes, entry.notes),
    ):
        for name in declared:
            if name not in present:
                raise CatalogueError(f"{path}: field {kind}.{name}: the rule needs it")
        for name in present:
            if name not in declared and kind != "switches":
                raise CatalogueError(f"{path}: field {kind}.{name}: the rule never uses it")
    unused = set(entry.params) - set(registered.params)
    if unused:
        raise CatalogueError(f"{path}: field params.{sorted(unused)[0]}: the rule never uses it")


def _check_suggestion_ids_unique(root: Path, rules: Mapping[str, RuleEntry]) -> None:
    """Suggestion ids key the validated order templates: two entries must never share one."""
    owner: dict[str, str] = {}
    for rule_id, entry in rules.items():
        for suggestion in entry.suggestions:
            if suggestion.id in owner:
                raise CatalogueError(
                    f"{root / 'rules' / f'{rule_id}.yaml'}: field suggestions.id: {suggestion.id!r} is already "
                    f"used by {owner[suggestion.id]!r}"
                )
            owner[suggestion.id] = rule_id


def load_catalogue(root: Path, registry: Mapping[str, RegisteredRule]) -> Catalogue:
    """Load `root/services` and `root/rules`, validate them and check they agree with the registry.

    Raises:
        CatalogueError: naming the file and field of the first problem found.
    """
    services: dict[str, ServiceEntry] = _load_folder(root / "services", ServiceEntry)
    rules: dict[str, RuleEntry] = _load_folder(root / "rules", RuleEntry)
    if not services:
        raise CatalogueError(f"{root / 'services'}: no service files (*.yaml)")
    for service in services.values():
        path = root / "services" / f"{service.id}.yaml"
        for rule_id in service.rules:
            if rule_id not in rules:
                raise CatalogueError(f"{path}: field rules: {rule_id!r} has no file in {root / 'rules'}")
    for rule_id, entry in rules.items():
        path = root / "rules" / f"{rule_id}.yaml"
        registered = registry.get(rule_id)
        if registered is None:
            raise CatalogueError(f"{path}: field id: no rule function is registered for {rule_id!r}")
        _check_rule_agrees(entry, registered, path)
    _check_suggestion_ids_unique(root, rules)
    orphans = sorted(set(registry) - set(rules))
    if orphans:
        raise CatalogueError(f"{root / 'rules'}: rule {orphans[0]!r} is registered but has no catalogue file")
    return Catalogue(services=services, rules=rules)
