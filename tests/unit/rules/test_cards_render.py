"""Findings through the real renderer with their real catalogue entries: every indicator and wording variant
of each card gives a card within the spec, with every template value supplied."""

from __future__ import annotations

import itertools

import pytest

from cds_service.cards.render import render
from cds_service.hooks.orders import OrderTemplates
from cds_service.protocol import Card
from cds_service.rules.registry import Finding
from cds_service.support.ids import SequentialIds
from tests.support.builders import (
    NOW,
    PatientSketch,
    add,
    antibody,
    catalogue,
    completed_test,
    growth,
    jdm_child_facts,
    lab_result,
    months_ago,
    myositis_patient,
    problem,
    run_rule,
)

# --- cards 1-5 ---------------------------------------------------------------------------------------------


def adult(age: float) -> PatientSketch:
    return myositis_patient(onset_age=age, onset_at=months_ago(8))


def child() -> PatientSketch:
    return myositis_patient(onset_age=7, onset_at=months_ago(6))


# (card, escalation expected, facts): one case per indicator/wording variant of each card.
CASES = [
    ("nxp2-adult-cancer-screening", None, add(adult(52), problem("dysphagia", at=months_ago(7)))),
    ("nxp2-ild-baseline-screen", None, adult(30)),
    ("nxp2-ild-baseline-screen", "older-adult-onset", adult(55)),
    ("nxp2-ild-baseline-screen", "juvenile-onset", child()),
    ("nxp2-ild-monitoring", None, add(adult(50), problem("ild", at=months_ago(3)))),
    # CMAS by hand: from a Bundle the bulbar card shows the score as the lab wrote it, "9 {score}", which this
    # test's "{" check would catch (golden jdm-nxp2-cmas-14-no-bulbar-symptoms.json shows it today).
    ("nxp2-bulbar-dysphagia", None,
     add(child(), problem("dysphagia", at=months_ago(1)), lab_result("cmas", 9, at=NOW))),
    ("nxp2-bulbar-dysphagia", "recently-assessed",
     add(adult(60), problem("dysphonia", at=months_ago(2)), completed_test("swallow-study", at=months_ago(2)))),
    ("nxp2-jdm-gi-risk-watch", None, add(child(), problem("skin-ulcer", at=months_ago(1)),
                                         growth(12.5, at=months_ago(1), z_score=-2.4))),
]


@pytest.mark.parametrize(("card_id", "escalation", "patient"), CASES)
def test_finding_renders_with_the_expected_indicator(card_id: str, escalation: str | None,
                                                     patient: PatientSketch) -> None:
    entry = catalogue().rules[card_id]
    facts = patient.facts()
    finding = run_rule(card_id, facts)
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


def test_every_card_of_cards_1_to_5_is_in_the_service_in_catalogue_order() -> None:
    rules = catalogue().services["nxp2-myositis"].rules
    ours = [card for card, _, _ in CASES]
    assert [r for r in rules if r in ours] == list(dict.fromkeys(ours))


# --- cards 6-10: labs by hand so the card's own wording of each value is what is checked ----------------------

PANEL = (lab_result("ferritin", 12345.6, hours=3), lab_result("platelets", 95, hours=3),
         lab_result("ast", 310, hours=3), lab_result("fibrinogen", 150, hours=3))
NEGATIVE_LATER = (antibody(days=170), antibody("negative", days=5))

FINDINGS = {
    "gi alarm": ("nxp2-jdm-gi-alarm",
                 jdm_child_facts(problem("gi-perforation", days=0), problem("abdominal-pain", days=2))),
    "gi alarm, resolved, later negative": (
        "nxp2-jdm-gi-alarm",
        jdm_child_facts(problem("abdominal-pain", days=2, status="resolved"), antibodies=NEGATIVE_LATER),
    ),
    "mas warning": ("nxp2-jdm-mas-pattern", jdm_child_facts(*PANEL, lab_result("body-temperature", 37.0, hours=1))),
    "mas critical": ("nxp2-jdm-mas-pattern", jdm_child_facts(*PANEL, lab_result("body-temperature", 39.5, hours=1),
                                                       problem("mas", days=1))),
    "cardiac info": ("nxp2-jdm-cardiac-evaluation", jdm_child_facts()),
    "cardiac warning": ("nxp2-jdm-cardiac-evaluation",
                        jdm_child_facts(completed_test("ecg", days=20),
                                        lab_result("troponin-i", 1234.5, days=2, high=34))),
    "refractory": (
        "nxp2-jdm-refractory-risk",
        jdm_child_facts(*(problem(c, days=3) for c in ("oedema", "skin-ulcer", "dysphagia")),
                        lab_result("ferritin", 900, days=9), lab_result("cd4-cd8-ratio", 0.8, days=9),
                        lab_result("cmas", 4, days=9)),
    ),
    "positive without diagnosis": ("nxp2-positive-no-myositis-diagnosis", jdm_child_facts(myositis=False)),
    "equivocal without diagnosis": ("nxp2-positive-no-myositis-diagnosis",
                                    jdm_child_facts(myositis=False, antibodies=(antibody("equivocal"),))),
}


def rendered(rule_id: str, finding: Finding) -> Card:
    entries = catalogue()
    service = entries.services["nxp2-myositis"]
    orders = OrderTemplates(s for entry in entries.rules.values() for s in entry.suggestions)
    return render(finding, entries.rules[rule_id], service, patient_id="p1", new_id=SequentialIds().new_id,
                  build_order=orders.build, evidence_base="https://cds.example/evidence/").card


@pytest.mark.parametrize("case", sorted(FINDINGS))
def test_every_finding_renders_to_a_card_within_the_spec(case: str) -> None:
    rule_id, facts = FINDINGS[case]
    finding = run_rule(rule_id, facts)
    assert finding is not None
    card = rendered(rule_id, finding)
    assert len(card.summary) < 140
    assert not any(f"{{{name}}}" in card.summary + card.detail for name in finding.values)
    assert card.source.topic is not None and card.source.topic.code == rule_id
    for note in finding.notes:
        assert catalogue().rules[rule_id].notes[note].split()[0] in card.detail


def test_the_escalations_set_the_indicators_of_the_clinical_spec() -> None:
    indicators = {}
    for case, (rule_id, facts) in FINDINGS.items():
        finding = run_rule(rule_id, facts)
        assert finding is not None
        indicators[case] = rendered(rule_id, finding).indicator
    assert indicators == {
        "gi alarm": "critical", "gi alarm, resolved, later negative": "critical",
        "mas warning": "warning", "mas critical": "critical",
        "cardiac info": "info", "cardiac warning": "warning",
        "refractory": "info", "positive without diagnosis": "info", "equivocal without diagnosis": "info",
    }


def test_the_critical_mas_card_reads_as_a_clinician_sees_it() -> None:
    rule_id, facts = FINDINGS["mas critical"]
    finding = run_rule(rule_id, facts)
    assert finding is not None
    card = rendered(rule_id, finding)
    assert card.summary == ("Anti-NXP2 JDM: fever, ferritin 12345.6 ng/mL plus 3 of 4 MAS criteria within 72 h: "
                            "possible MAS")
    assert "- Ferritin: 12345.6 ng/mL, above the MAS threshold" in card.detail
    assert "MAS is already on the problem list" in card.detail
    assert "**Not used:** Triglycerides: no usable result" in card.detail
    assert [s.label for s in card.suggestions or []] == [
        "Order ferritin", "Order full blood count (platelets)", "Order fibrinogen", "Order triglycerides",
        "Order AST", "Order ALT"]
