"""Every finding of the cards-a rules renders into a valid card with its real catalogue entry."""

from __future__ import annotations

import itertools

import pytest

from cds_service.cards.render import render
from cds_service.facts.model import PatientFacts
from cds_service.hooks.orders import OrderTemplates
from cds_service.rules import REGISTRY
from tests.unit.rules.factories import (
    NOW,
    add,
    catalogue,
    context,
    growth,
    lab,
    months_ago,
    nxp2_myositis,
    performed,
    problem,
)


def adult(age: float) -> PatientFacts:
    return nxp2_myositis(onset_age=age, onset_at=months_ago(8))


def child() -> PatientFacts:
    return nxp2_myositis(onset_age=7, onset_at=months_ago(6))


# (card, escalation expected, facts): one case per indicator/wording variant of each card.
CASES = [
    ("nxp2-adult-cancer-screening", None, add(adult(52), problem("dysphagia", months_ago(7)))),
    ("nxp2-ild-baseline-screen", None, adult(30)),
    ("nxp2-ild-baseline-screen", "older-adult-onset", adult(55)),
    ("nxp2-ild-baseline-screen", "juvenile-onset", child()),
    ("nxp2-ild-monitoring", None, add(adult(50), problem("ild", months_ago(3)))),
    ("nxp2-bulbar-dysphagia", None, add(child(), problem("dysphagia", months_ago(1)), lab("cmas", 9, "{score}", NOW))),
    ("nxp2-bulbar-dysphagia", "recently-assessed",
     add(adult(60), problem("dysphonia", months_ago(2)), performed("swallow-study", months_ago(2)))),
    ("nxp2-jdm-gi-risk-watch", None, add(child(), problem("skin-ulcer", months_ago(1)),
                                         growth(12.5, months_ago(1), -2.4))),
]


@pytest.mark.parametrize(("card_id", "escalation", "facts"), CASES)
def test_finding_renders_with_the_expected_indicator(card_id: str, escalation: str | None,
                                                     facts: PatientFacts) -> None:
    entry = catalogue().rules[card_id]
    finding = REGISTRY[card_id].function(facts, context(card_id))
    assert finding is not None
    assert finding.escalation == escalation
    ids = itertools.count()
    rendered = render(
        finding, entry, catalogue().services["nxp2-myositis"], patient_id=facts.patient_id,
        new_id=lambda: f"id-{next(ids)}", build_order=OrderTemplates(entry.suggestions).build,
        evidence_base="https://cds.example/evidence/",
    )
    card = rendered.card
    expected = entry.card.indicator if escalation is None else entry.escalations[escalation].indicator
    assert card.indicator == expected
    assert len(card.summary) < 140
    assert "{" not in card.summary and "{" not in (card.detail or "")
    assert card.detail is not None
    assert card.detail.startswith("**What we saw**\n\n")
    assert "- Anti-NXP2 antibody: positive" in card.detail  # patient data, escaped only where markdown needs it
    assert card.source.url == entry.card.source.url
    offered = entry.escalations[escalation].suggestions if escalation else None
    expected_ids = offered if offered is not None else [s.id for s in entry.suggestions]
    labels = {s.id: s.label for s in entry.suggestions}
    assert [s.label for s in card.suggestions or []] == [labels[i] for i in expected_ids]


def test_every_cards_a_entry_is_in_the_service_in_catalogue_order() -> None:
    rules = catalogue().services["nxp2-myositis"].rules
    ours = [card for card, _, _ in CASES]
    assert [r for r in rules if r in ours] == list(dict.fromkeys(ours))
