"""Turn a rule's `Finding` and its catalogue entry into a CDS Hooks card.

Every card carries both kinds of evidence: the patient data that fired it (from the finding) and the
published evidence (from the entry). A finding without patient data is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cds_service.cards.catalogue import (
    INDICATOR_RANK,
    SUMMARY_VALUE_WIDTH,
    RuleEntry,
    ServiceEntry,
    SuggestionEntry,
)
from cds_service.cards.text import escape_markdown, plain
from cds_service.protocol import Action, Card, Coding, Link, OverrideReason, Source, Suggestion
from cds_service.rules.registry import Datum, Finding

CARD_TOPIC_SYSTEM = "urn:nxp2-cds:card"

# Builds the FHIR resource of a suggestion for one patient (the hooks layer owns fhir.resources).
OrderBuilder = Callable[[SuggestionEntry, str], dict[str, Any]]


class RenderError(ValueError):
    """A finding cannot become a card (no patient data, unknown escalation or template value)."""


@dataclass(frozen=True)
class RenderedCard:
    rule_id: str
    card: Card


def _when(value: date | datetime | None) -> str:
    if value is None:
        return "date unknown"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M %Z").strip() if (value.hour or value.minute) else value.date().isoformat()
    return value.isoformat()


def _datum_line(datum: Datum) -> str:
    line = f"- {escape_markdown(datum.label)}: {escape_markdown(datum.value)}"
    if datum.when is None and datum.ref is None:
        return line  # a statement about the record as a whole ("none on record"), not one result
    where = f", {escape_markdown(datum.ref.reference)}" if datum.ref is not None else ""
    return f"{line} ({_when(datum.when)}{where})"


def _fill(template: str, values: Mapping[str, str], *, width: int | None, rule_id: str) -> str:
    safe: dict[str, str] = {}
    for key, value in values.items():
        text = plain(value) if width else escape_markdown(value)
        if width and len(text) > width:
            text = text[: width - 1] + "…"
        safe[key] = text
    try:
        return template.format_map(safe)
    except (KeyError, IndexError, ValueError) as error:
        raise RenderError(f"{rule_id}: template value {error} was not provided by the rule") from None


def _detail(finding: Finding, entry: RuleEntry, what_to_do: str) -> str:
    # A blank line after each bold heading: without it, markdown runs the heading into the next paragraph.
    sections = ["**Patient data behind this card**", "", *(_datum_line(d) for d in finding.data)]
    sections += ["", "**What to consider**", "", what_to_do.strip()]
    notes = [entry.notes[name] for name in finding.notes]
    if notes or entry.caveats:
        sections += ["", "**Caveats**", "", *(f"- {text.strip()}" for text in (*notes, *entry.caveats))]
    sections += ["", "**Evidence**", ""]
    for item in entry.evidence:
        quality = f"; quality: {item.quality}" if item.quality else ""
        link = f" <{item.url}>" if item.url else ""
        sections.append(f"- {item.citation.strip()} (strength: {item.strength}{quality}){link}")
    if finding.gaps:
        sections += ["", "**Data not used (missing, stale or unreadable)**", ""]
        sections += [f"- {escape_markdown(gap)}" for gap in finding.gaps]
    return "\n".join(sections)


def _suggestions(
    entry: RuleEntry, patient_id: str, new_id: Callable[[], str], build_order: OrderBuilder
) -> list[Suggestion] | None:
    suggestions = [
        Suggestion(
            label=item.label,
            uuid=new_id(),
            actions=[Action(type="create", description=item.text, resource=build_order(item, patient_id))],
        )
        for item in entry.suggestions
    ]
    return suggestions or None


def render(
    finding: Finding,
    entry: RuleEntry,
    service: ServiceEntry,
    *,
    patient_id: str,
    new_id: Callable[[], str],
    build_order: OrderBuilder,
) -> RenderedCard:
    """Return the card for one finding.

    Raises:
        RenderError: when the finding has no patient data or names something the entry lacks.
    """
    if not finding.data:
        raise RenderError(f"{finding.rule_id}: a card needs the patient data that fired it")
    template = entry.card
    indicator, summary, detail = template.indicator, template.summary, template.detail
    if finding.escalation is not None:
        escalation = entry.escalations.get(finding.escalation)
        if escalation is None:
            raise RenderError(f"{finding.rule_id}: unknown escalation {finding.escalation!r}")
        indicator = escalation.indicator
        summary = escalation.summary or summary
        detail = escalation.detail or detail
    suggestions = _suggestions(entry, patient_id, new_id, build_order)
    card = Card(
        uuid=new_id(),
        summary=_fill(summary, finding.values, width=SUMMARY_VALUE_WIDTH, rule_id=finding.rule_id),
        detail=_detail(finding, entry, _fill(detail, finding.values, width=None, rule_id=finding.rule_id)),
        indicator=indicator,
        source=Source(
            label=template.source.label,
            url=template.source.url,
            topic=Coding(system=CARD_TOPIC_SYSTEM, code=entry.id, display=entry.title),
        ),
        suggestions=suggestions,
        selectionBehavior="any" if suggestions else None,
        overrideReasons=[OverrideReason(**reason.model_dump()) for reason in service.override_reasons],
        links=[Link(label=link.label, url=link.url, type="absolute") for link in template.links] or None,
    )
    return RenderedCard(rule_id=entry.id, card=card)


def by_urgency(cards: list[RenderedCard], rule_order: list[str]) -> list[RenderedCard]:
    """Sort cards most urgent first (critical, warning, info), then in the service's rule order."""
    position = {rule_id: index for index, rule_id in enumerate(rule_order)}
    return sorted(cards, key=lambda c: (INDICATOR_RANK[c.card.indicator], position.get(c.rule_id, 0)))
