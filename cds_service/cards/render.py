"""Turn a rule's `Finding` and its catalogue entry into a CDS Hooks card.

Every card carries both kinds of evidence: the patient data that fired it (from the finding) and the
published evidence (from the entry). A finding without patient data is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cds_service.cards.catalogue import (
    INDICATOR_RANK,
    SUMMARY_VALUE_WIDTH,
    KeyEvidence,
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
EVIDENCE_LINK_LABEL = "Evidence and caveats"

_DECIMAL = re.compile(r"(?<![\d.])-?\d+\.\d+(?![\d.])")
_ANNOTATION = re.compile(r" \{[a-z ]+\}")  # UCUM {score}, {ratio}: a unit-less number
# The FHIR element a recorded onset came from tells a clinician nothing; an inferred onset keeps its source.
_RECORDED_ONSET = re.compile(r", from onset(?:DateTime|Age|Period)\b")
_REPORTED = re.compile(r" \(reported as ([\d.\-]+)[^()]*\)")


class RenderError(ValueError):
    """A finding cannot become a card (no patient data, unknown escalation or template value)."""


@dataclass(frozen=True)
class RenderedCard:
    rule_id: str
    card: Card


def _when(value: date | datetime | None) -> str:
    # The day is what a clinician reads; the hour is in the record the data line comes from.
    if value is None:
        return ""
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def _round(match: re.Match[str]) -> str:
    """A number as a clinician reads it: 1 decimal from 10 up (38.6111 -> 38.6), 2 below, no trailing zeros."""
    number = float(match.group(0))
    text = f"{number:.{1 if abs(number) >= 10 else 2}f}"
    return text.rstrip("0").rstrip(".")


def clinical_value(text: str) -> str:
    """Round decimals, drop a "(reported as ...)" that repeats the number and unit-less UCUM annotations."""
    text = _RECORDED_ONSET.sub("", _ANNOTATION.sub("", text))
    text = _DECIMAL.sub(_round, text)
    reported = _REPORTED.search(text)
    if reported and text.startswith(reported.group(1) + " "):
        text = text[: reported.start()] + text[reported.end():]
    return text


def _datum_line(datum: Datum) -> str:
    line = f"- {escape_markdown(datum.label)}: {escape_markdown(clinical_value(datum.value))}"
    when = _when(datum.when)
    if when:
        return f"{line} ({when})"
    if datum.ref is not None:
        # An undated value: the resource it came from is the only way to find it in the record.
        return f"{line} (undated, {escape_markdown(datum.ref.reference)})"
    return line  # a statement about the record as a whole ("none on record"), not one result


def _fill(template: str, values: Mapping[str, str], *, width: int | None, rule_id: str) -> str:
    safe: dict[str, str] = {}
    for key, value in values.items():
        text = plain(clinical_value(value)) if width else escape_markdown(clinical_value(value))
        if width and len(text) > width:
            text = text[: width - 1] + "…"
        safe[key] = text
    try:
        return template.format_map(safe)
    except (KeyError, IndexError, ValueError) as error:
        raise RenderError(f"{rule_id}: template value {error} was not provided by the rule") from None


def evidence_line(key: KeyEvidence, entry: RuleEntry) -> str:
    """The card's one evidence line: the number, then its source as "First author year, journal" linked."""
    row = entry.evidence_row(key.source)
    cite = f"[{row.source}]({row.url})" if row.url else row.source
    return f"**Evidence:** {key.text.strip()} ({cite})."


def _detail(finding: Finding, entry: RuleEntry, what_to_do: str, key: KeyEvidence) -> str:
    """Three short parts: what we saw, what to consider, one evidence line; then unusable data, once."""
    # A blank line between blocks: without it, markdown runs a paragraph into the list or the next one.
    sections = ["**What we saw**", "", *(_datum_line(d) for d in finding.data), ""]
    # One line in the raw text: the catalogue wraps its YAML, a plain-text EHR should not show those breaks.
    sections += [f"**What to consider:** {' '.join(what_to_do.split())}", ""]
    sections += [f"- {entry.notes[name].strip()}" for name in finding.notes]
    if finding.notes:
        sections.append("")
    sections.append(evidence_line(key, entry))
    gaps = list(dict.fromkeys(escape_markdown(gap.strip().rstrip(".")) for gap in finding.gaps))
    if gaps:
        sections += ["", f"**Not used:** {'; '.join(gaps)}."]
    return "\n".join(sections)


def _suggestions(
    entries: list[SuggestionEntry], patient_id: str, new_id: Callable[[], str], build_order: OrderBuilder
) -> list[Suggestion] | None:
    suggestions = [
        Suggestion(
            label=item.label,
            uuid=new_id(),
            actions=[Action(type="create", description=item.text, resource=build_order(item, patient_id))],
        )
        for item in entries
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
    evidence_base: str,
) -> RenderedCard:
    """Return the card for one finding.

    `evidence_base` is the public URL the card kind's evidence page hangs under (`.../evidence/`).

    Raises:
        RenderError: when the finding has no patient data or names something the entry lacks.
    """
    if not finding.data:
        raise RenderError(f"{finding.rule_id}: a card needs the patient data that fired it")
    template = entry.card
    indicator, summary, detail, key = template.indicator, template.summary, template.detail, template.evidence
    offered, links = list(entry.suggestions), template.links
    if finding.escalation is not None:
        escalation = entry.escalations.get(finding.escalation)
        if escalation is None:
            raise RenderError(f"{finding.rule_id}: unknown escalation {finding.escalation!r}")
        indicator = escalation.indicator
        summary = escalation.summary or summary
        detail = escalation.detail or detail
        key = escalation.evidence or key
        if escalation.suggestions is not None:
            by_id = {item.id: item for item in entry.suggestions}
            offered = [by_id[item_id] for item_id in escalation.suggestions]
        links = escalation.links if escalation.links is not None else links
    suggestions = _suggestions(offered, patient_id, new_id, build_order)
    card = Card(
        uuid=new_id(),
        summary=_fill(summary, finding.values, width=SUMMARY_VALUE_WIDTH, rule_id=finding.rule_id),
        detail=_detail(finding, entry, _fill(detail, finding.values, width=None, rule_id=finding.rule_id), key),
        indicator=indicator,
        source=Source(
            label=template.source.label,
            url=template.source.url,
            topic=Coding(system=CARD_TOPIC_SYSTEM, code=entry.id, display=entry.title),
        ),
        suggestions=suggestions,
        selectionBehavior="any" if suggestions else None,
        overrideReasons=[OverrideReason(**reason.model_dump()) for reason in service.override_reasons],
        links=[
            Link(label=EVIDENCE_LINK_LABEL, url=f"{evidence_base}{entry.id}", type="absolute"),
            *(Link(label=link.label, url=link.url, type="absolute") for link in links),
        ],
    )
    return RenderedCard(rule_id=entry.id, card=card)


def by_urgency(cards: list[RenderedCard], rule_order: list[str]) -> list[RenderedCard]:
    """Sort cards most urgent first (critical, warning, info), then in the service's rule order."""
    position = {rule_id: index for index, rule_id in enumerate(rule_order)}
    return sorted(cards, key=lambda c: (INDICATOR_RANK[c.card.indicator], position.get(c.rule_id, 0)))
