"""Cards 6-10 through the real renderer: every template value is supplied and every card fits the spec."""

from __future__ import annotations

import pytest

from cds_service.cards.render import render
from cds_service.facts.model import Positivity
from cds_service.hooks.orders import OrderTemplates
from cds_service.protocol import Card
from cds_service.rules.registry import Finding
from cds_service.support.ids import SequentialIds
from tests.unit.rules.factories_b import antibody, catalogue, done, jdm_child, lab, problem, run

PANEL = (lab("ferritin", 12345.6, hours=3), lab("platelets", 95, hours=3), lab("ast", 310, hours=3),
         lab("fibrinogen", 150, hours=3))
NEGATIVE_LATER = (antibody(days=170), antibody(Positivity.NEGATIVE, days=5))

FINDINGS = {
    "gi alarm": ("nxp2-jdm-gi-alarm", jdm_child(problem("gi-perforation", days=0), problem("abdominal-pain", days=2))),
    "gi alarm, resolved, later negative": (
        "nxp2-jdm-gi-alarm",
        jdm_child(problem("abdominal-pain", days=2, status="resolved"), antibodies=NEGATIVE_LATER),
    ),
    "mas warning": ("nxp2-jdm-mas-pattern", jdm_child(*PANEL, lab("body-temperature", 37.0, hours=1))),
    "mas critical": ("nxp2-jdm-mas-pattern", jdm_child(*PANEL, lab("body-temperature", 39.5, hours=1),
                                                       problem("mas", days=1))),
    "cardiac info": ("nxp2-jdm-cardiac-evaluation", jdm_child()),
    "cardiac warning": ("nxp2-jdm-cardiac-evaluation",
                        jdm_child(done("ecg", days=20), lab("troponin-i", 1234.5, days=2, high=34))),
    "refractory": (
        "nxp2-jdm-refractory-risk",
        jdm_child(*(problem(c, days=3) for c in ("oedema", "skin-ulcer", "dysphagia")),
                  lab("ferritin", 900, days=9), lab("cd4-cd8-ratio", 0.8, days=9), lab("cmas", 4, days=9)),
    ),
    "positive without diagnosis": ("nxp2-positive-no-myositis-diagnosis", jdm_child(myositis=None)),
    "equivocal without diagnosis": ("nxp2-positive-no-myositis-diagnosis",
                                    jdm_child(myositis=None, antibodies=(antibody(Positivity.EQUIVOCAL),))),
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
    finding = run(rule_id, facts)
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
        finding = run(rule_id, facts)
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
    finding = run(rule_id, facts)
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
