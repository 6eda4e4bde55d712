"""Card `nxp2-jdm-gi-risk-watch`: a child with anti-NXP2 JDM and a feature linked to fatal GI perforation."""

from __future__ import annotations

from cds_service.facts.model import Growth, PatientFacts, Problem
from cds_service.rules.card_data import LATER_NEGATIVE_NOTE, later_negative_notes, population_data, problem_datum
from cds_service.rules.criteria import is_positive_jdm_child, is_within
from cds_service.rules.gaps import data_gaps
from cds_service.rules.registry import Datum, Finding, RuleContext, rule
from cds_service.rules.words import in_sentence, window_text

RULE_ID = "nxp2-jdm-gi-risk-watch"
# Current problems that count (S3 Table 3 features; aspiration counts as bulbar), in the card's order.
FEATURES = ("skin-ulcer", "oedema", "dysphagia", "dysphonia", "aspiration")
# S3 Table 3 words "hoarseness" first; every other feature is named by its value set's title.
_FEATURE_WORDS = {"dysphonia": "hoarseness or dysphonia"}


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


def has_risk_feature(facts: PatientFacts, ctx: RuleContext) -> bool:
    return bool(current_features(facts)) or has_low_weight(facts, ctx)


def applies(facts: PatientFacts, ctx: RuleContext) -> bool:
    """A child with anti-NXP2 JDM and a risk feature; adult onset is outside the population (no GI events in
    20 NXP2+ adults, S2 Table II)."""
    return is_positive_jdm_child(facts, ctx.now) and has_risk_feature(facts, ctx)


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
    names = [_FEATURE_WORDS.get(p.concept) or in_sentence(ctx.title(p.concept)) for p in current_features(facts)]
    if has_low_weight(facts, ctx):
        names.append("low BMI for age")
    return ", ".join(dict.fromkeys(names))


@rule(
    RULE_ID,
    params={"bmi_for_age_z_at_or_below": "{z-score}", "growth_window": "duration"},
    notes=(LATER_NEGATIVE_NOTE,),
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
    data: list[Datum] = [
        *population_data(facts, ctx),
        *(problem_datum(p, ctx.title(p.concept)) for p in current_features(facts)),
        *(() if growth is None else (_growth_datum(growth),)),
    ]
    return Finding(
        rule_id=RULE_ID,
        data=tuple(data),
        values={"features": _feature_names(facts, ctx)},
        notes=later_negative_notes(facts),
        gaps=(*data_gaps(facts, ctx, labs=("bmi",), problems=FEATURES), *_growth_gaps(facts, ctx)),
    )
