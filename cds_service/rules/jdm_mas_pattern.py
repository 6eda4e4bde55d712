"""Card 7 `nxp2-jdm-mas-pattern`: the 2016 MAS laboratory pattern in a child with anti-NXP2 JDM."""

from __future__ import annotations

from dataclasses import dataclass

from cds_service.facts.model import LabResult, PatientFacts
from cds_service.rules.card_data import (
    LATER_NEGATIVE_NOTE,
    NO_DIAGNOSIS_NOTE,
    TRANSITION_AGE_NOTE,
    juvenile_notes,
    lab_datum,
    later_negative_notes,
    population_data,
)
from cds_service.rules.criteria import is_juvenile_card_population, is_within
from cds_service.rules.gaps import missing_or_stale_gap, unusable_gaps
from cds_service.rules.registry import Datum, Finding, RuleContext, rule
from cds_service.rules.words import day, in_sentence, number, unit_text, window_text

RULE_ID = "nxp2-jdm-mas-pattern"
FERRITIN = "ferritin"
TEMPERATURE = "body-temperature"


@dataclass(frozen=True)
class Criterion:
    """One of the four 'any two of' criteria of the 2016 EULAR/ACR/PRINTO MAS classification."""

    concept: str
    param: str
    unit: str
    met_at_or_below: bool  # True: value <= threshold meets it; False: value > threshold (strict, as published)

    def is_met(self, lab: LabResult, ctx: RuleContext) -> bool:
        limit = ctx.threshold(self.param, self.unit)
        return lab.value is not None and (lab.value <= limit if self.met_at_or_below else lab.value > limit)

    def wording(self, ctx: RuleContext) -> str:
        operator = "<=" if self.met_at_or_below else ">"
        limit = f"{number(ctx.threshold(self.param, self.unit))} {unit_text(self.unit)}"
        return f"{in_sentence(ctx.title(self.concept))} {operator} {limit}"


CRITERIA = (
    Criterion("platelets", "platelets_at_most", "10*3/uL", met_at_or_below=True),
    Criterion("ast", "ast_above", "U/L", met_at_or_below=False),
    Criterion("triglycerides", "triglycerides_above", "mg/dL", met_at_or_below=False),
    Criterion("fibrinogen", "fibrinogen_at_most", "mg/dL", met_at_or_below=True),
)
AST = CRITERIA[1]


def is_mas_card_population(facts: PatientFacts, ctx: RuleContext) -> bool:
    """Who the MAS cards are for: juvenile-onset disease (past 18 with `applies_after_18`), or a positive child
    with no myositis diagnosis coded."""
    return is_juvenile_card_population(
        facts, ctx.now, after_18=ctx.switch("applies_after_18"), without_diagnosis=True
    )


def recent_ferritin(facts: PatientFacts, ctx: RuleContext) -> LabResult | None:
    return facts.latest(FERRITIN, ctx.now, ctx.window("lab_window"))


def is_ferritin_above_threshold(ferritin: LabResult, ctx: RuleContext) -> bool:
    """Ferritin strictly above the threshold (published "> 684 ng/mL"; S2 misprints ">=")."""
    return ferritin.value is not None and ferritin.value > ctx.threshold("ferritin_above", "ng/mL")


def criteria_results(facts: PatientFacts, ctx: RuleContext) -> list[tuple[Criterion, LabResult]]:
    """The newest usable result of each criterion taken within the lab window."""
    found = [(c, facts.latest(c.concept, ctx.now, ctx.window("lab_window"))) for c in CRITERIA]
    return [(c, lab) for c, lab in found if lab is not None]


def met_criteria(results: list[tuple[Criterion, LabResult]], ctx: RuleContext) -> list[Criterion]:
    return [c for c, lab in results if c.is_met(lab, ctx)]


def is_pattern_met(met: list[Criterion], ctx: RuleContext) -> bool:
    return len(met) >= ctx.threshold("criteria_needed", "{criteria}")


def does_pattern_rest_on_ast(met: list[Criterion], ctx: RuleContext) -> bool:
    """True when AST is met and the pattern would fail without it (AST rises from muscle in NXP2+ JDM, M7)."""
    return AST in met and not is_pattern_met([c for c in met if c is not AST], ctx)


def temperatures_in_window(facts: PatientFacts, ctx: RuleContext) -> list[LabResult]:
    return [
        lab for lab in facts.results(TEMPERATURE)
        if lab.usable and lab.value is not None and is_within(lab.effective, ctx.now, ctx.window("lab_window"))
    ]


def is_febrile(temperature: LabResult, ctx: RuleContext) -> bool:
    return temperature.value is not None and temperature.value >= ctx.threshold("fever_at_least", "Cel")


def _gaps(facts: PatientFacts, ctx: RuleContext) -> tuple[str, ...]:
    window, text = ctx.window("lab_window"), window_text(ctx, "lab_window")
    gaps: list[str] = []
    for criterion in CRITERIA:
        stale = missing_or_stale_gap(facts, criterion.concept, ctx.title(criterion.concept), ctx.now, window, text)
        gaps += [stale] if stale else []
    for concept in (FERRITIN, *(c.concept for c in CRITERIA)):
        gaps += unusable_gaps(facts, concept, ctx.title(concept), ctx.now, window)
    if not temperatures_in_window(facts, ctx):
        gaps.append(f"{ctx.title(TEMPERATURE)}: none recorded in the {text} window, so fever cannot be judged.")
    gaps += unusable_gaps(facts, TEMPERATURE, ctx.title(TEMPERATURE), ctx.now, window)
    return tuple(gaps)


def panel_around(facts: PatientFacts, ferritin: LabResult, ctx: RuleContext) -> list[tuple[Criterion, LabResult]]:
    """For each criterion, its usable result closest in time to `ferritin` within the lab window of it."""
    assert ferritin.effective is not None
    window = ctx.window("lab_window")
    panel: list[tuple[Criterion, LabResult]] = []
    for criterion in CRITERIA:
        near = [
            lab for lab in facts.results(criterion.concept)
            if lab.usable and lab.effective is not None and abs(lab.effective - ferritin.effective) <= window
        ]
        if near:
            panel.append((criterion, min(near, key=lambda lab: abs(lab.effective - ferritin.effective))))  # type: ignore[operator]
    return panel


def unrepeated_alarming_panel(facts: PatientFacts, ctx: RuleContext) -> LabResult | None:
    """The newest ferritin when it is in the MAS range with enough criteria met around it, older than the lab
    window but within the repeat look-back, and no ferritin was measured since: an alarm never repeated."""
    ferritins = [lab for lab in facts.results(FERRITIN) if lab.usable and lab.effective is not None]
    newest = ferritins[0] if ferritins else None  # results() are newest first
    if newest is None or is_within(newest.effective, ctx.now, ctx.window("lab_window")):
        return None
    if not is_within(newest.effective, ctx.now, ctx.window("repeat_lookback")):
        return None
    if not is_ferritin_above_threshold(newest, ctx):
        return None
    return newest if is_pattern_met(met_criteria(panel_around(facts, newest, ctx), ctx), ctx) else None


def applies(facts: PatientFacts, ctx: RuleContext) -> bool:
    """Anti-NXP2 juvenile-onset disease (or a positive child with no diagnosis coded), ferritin above the
    threshold and enough criteria met, all in the lab window."""
    if not is_mas_card_population(facts, ctx):
        return False
    ferritin = recent_ferritin(facts, ctx)
    if ferritin is None or not is_ferritin_above_threshold(ferritin, ctx):
        return False
    return is_pattern_met(met_criteria(criteria_results(facts, ctx), ctx), ctx)


@rule(
    RULE_ID,
    params={
        "lab_window": "duration",
        "ferritin_above": "ng/mL",
        "platelets_at_most": "10*3/uL",
        "ast_above": "U/L",
        "triglycerides_above": "mg/dL",
        "fibrinogen_at_most": "mg/dL",
        "criteria_needed": "{criteria}",
        "fever_at_least": "Cel",
        "repeat_lookback": "duration",
    },
    switches=("applies_after_18",),
    escalations=("febrile", "not-repeated"),
    notes=("pattern-rests-on-ast", "afebrile", "mas-recorded", NO_DIAGNOSIS_NOTE, TRANSITION_AGE_NOTE,
           LATER_NEGATIVE_NOTE),
)
def jdm_mas_pattern(facts: PatientFacts, ctx: RuleContext) -> Finding | None:
    """2016 EULAR/ACR/PRINTO MAS classification criteria for sJIA (Ravelli 2016), borrowed for JDM as S2 did.

    Evidence: M1 (S2 Table II: MAS 4/18 = 22.22% of anti-NXP2 JDM vs 0/20 adults, p = 0.041); criteria
    clinical-evidence.md section 4.3 (strict ">" as published, item 7 of section 3); qualifiers M7, W10.

    When: anti-NXP2 positive, and myositis on record with onset before 18 (any current age with the switch
          `applies_after_18`, else under 18), or no myositis diagnosis and under 18 today; the newest ferritin
          within the lab window (72 h) is above 684 ng/mL and at least two of platelets <= 181 x10^9/L,
          AST > 48 U/L, triglycerides > 156 mg/dL, fibrinogen <= 360 mg/dL hold on their newest results in
          the same window.
    Then: warning card (urgent MAS assessment); critical when a temperature >= 38.0 Cel was recorded in
          the same window (the full febrile pattern of the criteria).
    When (not repeated): same population; no ferritin in the lab window, and the newest ferritin, older than
          the lab window but within the repeat look-back (30 days), was above the threshold with enough criteria
          met within the lab window of it.
    Then: warning card: repeat ferritin and the four criteria tests now; the card gives the alarming panel's date.
    """
    if not is_mas_card_population(facts, ctx):
        return None
    ferritin = recent_ferritin(facts, ctx)
    if ferritin is not None and applies(facts, ctx):
        return _pattern_finding(facts, ctx, ferritin)
    alarming = unrepeated_alarming_panel(facts, ctx)
    return None if alarming is None else _not_repeated_finding(facts, ctx, alarming)


def _panel_data(
    facts: PatientFacts, ctx: RuleContext, ferritin: LabResult, results: list[tuple[Criterion, LabResult]],
    met: list[Criterion],
) -> list[Datum]:
    """The population lines, the ferritin, and each criterion's result with its verdict."""
    data = [*population_data(facts, ctx), lab_datum(ferritin, ctx.title(FERRITIN), "above the MAS threshold")]
    for criterion, lab in results:
        verdict = "meets" if criterion in met else "does not meet"
        data.append(lab_datum(lab, ctx.title(criterion.concept), f"{verdict} {criterion.wording(ctx)}"))
    return data


def _panel_values(ctx: RuleContext, ferritin: LabResult, met: list[Criterion]) -> dict[str, str]:
    return {
        "ferritin": number(ferritin.value or 0.0),
        "met_count": str(len(met)),
        "met": ", ".join(c.wording(ctx) for c in met),
        "window": window_text(ctx, "lab_window"),
    }


def _pattern_finding(facts: PatientFacts, ctx: RuleContext, ferritin: LabResult) -> Finding:
    results = criteria_results(facts, ctx)
    met = met_criteria(results, ctx)

    temperatures = temperatures_in_window(facts, ctx)
    fevers = [t for t in temperatures if is_febrile(t, ctx)]
    shown_temperature = max(temperatures, key=lambda t: t.value or 0.0, default=None)
    notes: tuple[str, ...] = ("pattern-rests-on-ast",) if does_pattern_rest_on_ast(met, ctx) else ()
    notes += ("afebrile",) if temperatures and not fevers else ()
    notes += ("mas-recorded",) if facts.has_current("mas") else ()

    data = _panel_data(facts, ctx, ferritin, results, met)
    if shown_temperature is not None:
        data.append(lab_datum(shown_temperature, "Highest body temperature in the window"))
    return Finding(
        rule_id=RULE_ID,
        data=tuple(data),
        values=_panel_values(ctx, ferritin, met),
        escalation="febrile" if fevers else None,
        notes=juvenile_notes(facts, ctx) + notes + later_negative_notes(facts),
        gaps=_gaps(facts, ctx),
    )


def _not_repeated_finding(facts: PatientFacts, ctx: RuleContext, ferritin: LabResult) -> Finding:
    results = panel_around(facts, ferritin, ctx)
    met = met_criteria(results, ctx)
    notes: tuple[str, ...] = ("pattern-rests-on-ast",) if does_pattern_rest_on_ast(met, ctx) else ()
    notes += ("mas-recorded",) if facts.has_current("mas") else ()
    tests = [FERRITIN, *(c.concept for c in CRITERIA)]
    return Finding(
        rule_id=RULE_ID,
        data=tuple(_panel_data(facts, ctx, ferritin, results, met)),
        values={
            **_panel_values(ctx, ferritin, met),
            "panel_date": day(ferritin.effective),
            "tests": ", ".join(in_sentence(ctx.title(concept)) for concept in tests),
        },
        escalation="not-repeated",
        notes=juvenile_notes(facts, ctx) + notes + later_negative_notes(facts),
    )
