"""Card `nxp2-ild-baseline-screen`: anti-NXP2 myositis with no ILD on record and no baseline lung screen."""

from __future__ import annotations

from cds_service.facts.model import PatientFacts
from cds_service.rules.card_data import (
    LATER_NEGATIVE_NOTE,
    antibody_data,
    last_test_datum,
    later_negative_notes,
    myositis_datum,
    none_on_record,
    onset_datum,
    problem_datum,
)
from cds_service.rules.criteria import (
    TEST_SOURCES,
    is_adult_onset,
    is_juvenile_onset,
    is_positive_myositis_patient,
    tests_between,
)
from cds_service.rules.gaps import data_gaps, onset_gaps
from cds_service.rules.registry import Datum, Finding, RuleContext, rule

RULE_ID = "nxp2-ild-baseline-screen"
ADULT_SCREEN = ("ct-chest",)
# SHARE: PFTs at diagnosis in JDM, HRCT if concern; either one shows the lungs were looked at.
JUVENILE_SCREEN = ("pft", "ct-chest")


def has_ild_recorded(facts: PatientFacts) -> bool:
    """Any ILD Condition, whatever its status: then monitoring (or nothing) applies, not a baseline screen."""
    return bool(facts.problems_of("ild"))


def has_adult_baseline_ct(facts: PatientFacts, ctx: RuleContext) -> bool:
    """A chest CT (HRCT) since the lead-in window before onset."""
    if facts.onset is None:
        return False
    since = facts.onset.when - ctx.window("hrct_lead_in_before_onset")
    return bool(tests_between(facts, ADULT_SCREEN, since, ctx.now))


def has_juvenile_baseline(facts: PatientFacts, ctx: RuleContext) -> bool:
    """PFTs (or a chest CT) since onset."""
    return facts.onset is not None and bool(tests_between(facts, JUVENILE_SCREEN, facts.onset.when, ctx.now))


def is_older_adult_onset(facts: PatientFacts, ctx: RuleContext) -> bool:
    age = facts.onset_age()
    return is_adult_onset(facts) and age is not None and age > ctx.threshold("older_onset_age", "a")


def has_baseline_screen(facts: PatientFacts, ctx: RuleContext) -> bool:
    """The baseline of the patient's age group: PFTs or chest CT since onset (juvenile), else a chest CT."""
    return has_juvenile_baseline(facts, ctx) if is_juvenile_onset(facts) else has_adult_baseline_ct(facts, ctx)


def applies(facts: PatientFacts, ctx: RuleContext) -> bool:
    """Known onset age, no ILD on record, and no baseline lung screen for the age group."""
    return (
        is_positive_myositis_patient(facts)
        and (is_adult_onset(facts) or is_juvenile_onset(facts))
        and not has_ild_recorded(facts)
        and not has_baseline_screen(facts, ctx)
    )


def _escalation(facts: PatientFacts, ctx: RuleContext) -> str | None:
    if is_juvenile_onset(facts):
        return "juvenile-onset"
    return "older-adult-onset" if is_older_adult_onset(facts, ctx) else None


def _data(facts: PatientFacts, ctx: RuleContext) -> tuple[Datum, ...]:
    data: list[Datum | None] = [*antibody_data(facts, ctx), myositis_datum(facts, ctx), onset_datum(facts)]
    looked_for = JUVENILE_SCREEN if is_juvenile_onset(facts) else ("ct-chest", "pft")
    for concept in looked_for:
        last = facts.last_test((concept,))
        data.append(last_test_datum(last, ctx) if last else none_on_record(ctx.title(concept)))
    data += [problem_datum(p, ctx.title("skin-ulcer")) for p in facts.problems_of("skin-ulcer")]
    return tuple(d for d in data if d is not None)


def _notes(facts: PatientFacts) -> tuple[str, ...]:
    notes: list[str] = []
    if facts.problems_of("skin-ulcer"):
        notes.append("skin-ulcer-risk-factor")
    return (*notes, *later_negative_notes(facts))


@rule(
    RULE_ID,
    params={"hrct_lead_in_before_onset": "duration", "older_onset_age": "a"},
    escalations=("older-adult-onset", "juvenile-onset"),
    notes=("skin-ulcer-risk-factor", LATER_NEGATIVE_NOTE),
)
def ild_baseline_screen(facts: PatientFacts, ctx: RuleContext) -> Finding | None:
    """ACR/CHEST 2023: screen IIM patients at risk of ILD with HRCT and full PFTs; SHARE 2017: PFTs in JDM.

    Evidence rows I1-I6, I8, A1 (clinical-evidence.md 2b, 2g); guideline anchors 4.2 and 4.4.
    When: anti-NXP2 ever positive, a myositis diagnosis, no ILD Condition, and (adult onset) no chest
          CT since the lead-in window before onset, or (juvenile onset) no PFT or chest CT since onset.
    Then: info card to screen for ILD (adults HRCT + PFT with DLCO; JDM PFTs, HRCT if concern);
          warning when adult onset age is over the catalogue threshold (onset > 40: ILD 45% vs 16%).
    """
    onset_age = facts.onset_age()
    if onset_age is None or not applies(facts, ctx):
        return None
    return Finding(
        rule_id=RULE_ID,
        data=_data(facts, ctx),
        values={"onset_age": f"{onset_age:.0f}"},
        escalation=_escalation(facts, ctx),
        notes=_notes(facts),
        gaps=(
            *data_gaps(facts, ctx, tests=("ct-chest", "pft"), problems=("ild",), prefetch_keys=TEST_SOURCES),
            *onset_gaps(facts),
        ),
    )
