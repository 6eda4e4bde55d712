"""Card `nxp2-jdm-gi-risk-watch`: a child with anti-NXP2 JDM and a feature linked to fatal GI perforation."""

from __future__ import annotations

from cds_service.facts.model import Growth, PatientFacts, Problem
from cds_service.rules.common import (
    antibody_data,
    has_myositis_diagnosis,
    is_antibody_positive,
    is_child_now,
    is_juvenile_onset,
    is_within,
    onset_datum,
)
from cds_service.rules.lookups import data_gaps, problem_datum, window_text
from cds_service.rules.registry import Datum, Finding, RuleContext, rule

CARD_ID = "nxp2-jdm-gi-risk-watch"
# Current problem concept -> how the card names it (S3 Table 3 features; aspiration counts as bulbar).
FEATURES = {
    "skin-ulcer": "skin ulcer",
    "oedema": "oedema",
    "dysphagia": "dysphagia",
    "dysphonia": "hoarseness or dysphonia",
    "aspiration": "aspiration",
}


def latest_growth(facts: PatientFacts, ctx: RuleContext) -> Growth | None:
    """The newest BMI measurement within the growth window, whether or not its z-score could be computed."""
    window = ctx.window("growth_window")
    recent = [g for g in facts.growth if is_within(g.measured, ctx.now, window)]
    return max(recent, key=lambda g: g.measured, default=None)


def has_low_weight(facts: PatientFacts, ctx: RuleContext) -> bool:
    """BMI-for-age z at or below the catalogue threshold; never a fixed BMI (S3's BMI < 15 is normal at 3-7 y)."""
    growth = latest_growth(facts, ctx)
    return (
        growth is not None
        and growth.z_score is not None
        and growth.z_score <= ctx.threshold("bmi_for_age_z_at_or_below", "{z-score}")
    )


def current_features(facts: PatientFacts) -> tuple[Problem, ...]:
    return tuple(p for concept in FEATURES for p in facts.problems_of(concept, current_only=True))


def inclusion(facts: PatientFacts, ctx: RuleContext) -> bool:
    return (
        is_antibody_positive(facts)
        and has_myositis_diagnosis(facts)
        and is_juvenile_onset(facts)
        and is_child_now(facts, ctx.now)
    )


def has_risk_feature(facts: PatientFacts, ctx: RuleContext) -> bool:
    return bool(current_features(facts)) or has_low_weight(facts, ctx)


def applies(facts: PatientFacts, ctx: RuleContext) -> bool:
    """Adult onset is outside the population (no GI events in 20 NXP2+ adults, S2 Table II)."""
    return inclusion(facts, ctx) and has_risk_feature(facts, ctx)


def _growth_datum(growth: Growth) -> Datum:
    if growth.z_score is None:
        value = f"BMI {growth.bmi:.1f} kg/m2, BMI-for-age z not available"
    else:
        reference = f", {growth.reference}" if growth.reference else ""
        value = f"BMI {growth.bmi:.1f} kg/m2, BMI-for-age z {growth.z_score:.2f}{reference}"
    return Datum("Body-mass index", value, growth.measured, growth.refs[0] if growth.refs else None)


def _growth_gaps(facts: PatientFacts, ctx: RuleContext) -> tuple[str, ...]:
    growth = latest_growth(facts, ctx)
    window = window_text(ctx, "growth_window")
    if growth is None:
        return (f"No BMI in the last {window}: low weight for age was not assessed.",)
    if growth.z_score is None:
        why = f" ({growth.problem})" if growth.problem else ""
        return (f"The BMI-for-age z-score could not be computed{why}: low weight was not assessed "
                "(a fixed BMI cut-off is not used).",)
    return ()


def _feature_names(facts: PatientFacts, ctx: RuleContext) -> str:
    names = [FEATURES[p.concept] for p in current_features(facts)]
    if has_low_weight(facts, ctx):
        names.append("low BMI for age")
    return ", ".join(dict.fromkeys(names))


@rule(
    CARD_ID,
    params={"bmi_for_age_z_at_or_below": "{z-score}", "growth_window": "duration"},
    notes=("later-negative-antibody",),
)
def jdm_gi_risk_watch(facts: PatientFacts, ctx: RuleContext) -> Finding | None:
    """SHARE 2017: GI vasculitis, skin ulceration and dysphagia mark high-risk JDM needing urgent specialist care.

    Evidence rows G1-G6, G8 (clinical-evidence.md 2c); guideline anchor 4.4; BMI-for-age per section 3 item 14.
    When: anti-NXP2 ever positive, a myositis diagnosis, onset before 18 and still under 18, and at least
          one of: a current skin ulcer, oedema, dysphagia/hoarseness/aspiration, or the newest BMI within
          the growth window with a BMI-for-age z at or below the catalogue threshold.
    Then: warning to watch for GI involvement (abdominal pain, vomiting, distension, bleeding) at every
          contact, with a low threshold for abdominal ultrasound and surgical/GI review.
    """
    if not applies(facts, ctx):
        return None
    growth = latest_growth(facts, ctx)
    data: list[Datum | None] = [
        *antibody_data(facts),
        onset_datum(facts),
        *(problem_datum(p) for p in current_features(facts)),
        _growth_datum(growth) if growth is not None else None,
    ]
    return Finding(
        rule_id=CARD_ID,
        data=tuple(d for d in data if d is not None),
        values={"features": _feature_names(facts, ctx)},
        notes=("later-negative-antibody",) if facts.later_negative_antibody() is not None else (),
        gaps=(*data_gaps(facts, labs=("bmi",), problems=tuple(FEATURES)), *_growth_gaps(facts, ctx)),
    )
