"""Card 9 `nxp2-jdm-refractory-risk`: features associated with a refractory course in early anti-NXP2 JDM."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cds_service.facts.model import LabResult, PatientFacts, Problem
from cds_service.rules.card_data import (
    LATER_NEGATIVE_NOTE,
    lab_datum,
    later_negative_notes,
    population_data,
    problem_datum,
)
from cds_service.rules.criteria import is_positive_jdm_patient, time_since_onset
from cds_service.rules.gaps import issue_gaps, missing_or_stale_gap, unusable_gaps
from cds_service.rules.registry import Datum, Finding, RuleContext, rule
from cds_service.rules.words import window_text

RULE_ID = "nxp2-jdm-refractory-risk"


@dataclass(frozen=True)
class Feature:
    """One feature of S3 Table 2 and the patient data that shows it (empty when absent)."""

    name: str
    data: tuple[Datum, ...]


def _current(facts: PatientFacts, concepts: tuple[str, ...]) -> list[Problem]:
    return [p for concept in concepts for p in facts.problems_of(concept, current_only=True)]


def has_current_oedema(facts: PatientFacts, ctx: RuleContext) -> tuple[Datum, ...]:
    return tuple(problem_datum(p, ctx.title("oedema")) for p in _current(facts, ("oedema",)))


def has_current_skin_ulcer(facts: PatientFacts, ctx: RuleContext) -> tuple[Datum, ...]:
    return tuple(problem_datum(p, ctx.title("skin-ulcer")) for p in _current(facts, ("skin-ulcer",)))


def has_bulbar_weakness(facts: PatientFacts, ctx: RuleContext) -> tuple[Datum, ...]:
    """Current dysphagia, or dysphonia / hoarseness / nasal speech (S3: "Dysphagia/Hoarseness/Lower voice")."""
    return tuple(problem_datum(p, "Dysphagia or dysphonia") for p in _current(facts, ("dysphagia", "dysphonia")))


def has_severe_proximal_weakness(facts: PatientFacts, ctx: RuleContext) -> tuple[Datum, ...]:
    """Newest proximal strength (MRC) at or below the threshold, or newest CMAS below its threshold."""
    window = ctx.window("score_window")
    strength = facts.latest("proximal-strength", ctx.now, window)
    cmas = facts.latest("cmas", ctx.now, window)
    found: list[Datum] = []
    if strength is not None and strength.value is not None \
            and strength.value <= ctx.threshold("strength_at_most", "{score}"):
        found.append(lab_datum(strength, f"{ctx.title('proximal-strength')} (MRC 0-5)"))
    if cmas is not None and cmas.value is not None and cmas.value < ctx.threshold("cmas_below", "{score}"):
        found.append(lab_datum(cmas, f"{ctx.title('cmas')} (0-52)"))
    return tuple(found)


def _lab_feature(concept: str, met: Callable[[LabResult, RuleContext], bool]) -> Callable[
        [PatientFacts, RuleContext], tuple[Datum, ...]]:
    def feature(facts: PatientFacts, ctx: RuleContext) -> tuple[Datum, ...]:
        lab = facts.latest(concept, ctx.now, ctx.window("lab_window"))
        met_here = lab is not None and lab.value is not None and met(lab, ctx)
        return (lab_datum(lab, ctx.title(concept)),) if lab is not None and met_here else ()

    return feature


has_low_cd4_cd8_ratio = _lab_feature(
    "cd4-cd8-ratio", lambda lab, ctx: (lab.value or 0.0) < ctx.threshold("cd4_cd8_below", "{ratio}")
)
has_high_ferritin = _lab_feature(
    "ferritin", lambda lab, ctx: (lab.value or 0.0) > ctx.threshold("ferritin_above", "ng/mL")
)

FEATURES: tuple[tuple[str, Callable[[PatientFacts, RuleContext], tuple[Datum, ...]]], ...] = (
    ("oedema", has_current_oedema),
    ("skin ulcer", has_current_skin_ulcer),
    ("severe proximal weakness", has_severe_proximal_weakness),
    ("dysphagia or dysphonia", has_bulbar_weakness),
    ("low CD4/CD8 ratio", has_low_cd4_cd8_ratio),
    ("raised ferritin", has_high_ferritin),
)


def features_present(facts: PatientFacts, ctx: RuleContext) -> list[Feature]:
    found = [Feature(name, check(facts, ctx)) for name, check in FEATURES]
    return [f for f in found if f.data]


def is_within_onset_window(facts: PatientFacts, ctx: RuleContext) -> bool:
    since = time_since_onset(facts, ctx.now)
    return since is not None and since <= ctx.window("onset_window")


def _gaps(facts: PatientFacts, ctx: RuleContext) -> tuple[str, ...]:
    gaps: list[str] = []
    labs = (("ferritin", "lab_window"), ("cd4-cd8-ratio", "lab_window"),
            ("proximal-strength", "score_window"), ("cmas", "score_window"))
    for concept, window_name in labs:
        window, label = ctx.window(window_name), ctx.title(concept)
        stale = missing_or_stale_gap(facts, concept, label, ctx.now, window, window_text(ctx, window_name))
        gaps += [stale] if stale else []
        gaps += unusable_gaps(facts, concept, label, ctx.now, window)
    for concept in ("oedema", "skin-ulcer", "dysphagia", "dysphonia"):
        gaps += issue_gaps(facts, concept, ctx.title(concept))
    return tuple(gaps)


def applies(facts: PatientFacts, ctx: RuleContext) -> bool:
    """Anti-NXP2 JDM within the onset window with at least the catalogue's number of features."""
    return (
        is_positive_jdm_patient(facts)
        and is_within_onset_window(facts, ctx)
        and len(features_present(facts, ctx)) >= ctx.threshold("features_needed", "{features}")
    )


@rule(
    RULE_ID,
    params={
        "onset_window": "duration",
        "lab_window": "duration",
        "score_window": "duration",
        "features_needed": "{features}",
        "ferritin_above": "ng/mL",
        "cd4_cd8_below": "{ratio}",
        "strength_at_most": "{score}",
        "cmas_below": "{score}",
    },
    notes=(LATER_NEGATIVE_NOTE,),
)
def jdm_refractory_risk(facts: PatientFacts, ctx: RuleContext) -> Finding | None:
    """Features associated with refractory anti-NXP2 JDM in one 26-patient series (S3 Table 2, univariate).

    Evidence: R1-R7 (S3 Table 2: oedema, skin ulcer, proximal strength <= grade 3, dysphagia/hoarseness/
    lower voice, CD4/CD8 < 1.4, ferritin > 200 ng/mL; 11 refractory of 26); L1 (S2: relapse 60% of
    evaluable anti-NXP2 JDM); W6 (S2: CK still raised at 24 months). Two features are required because
    either lab threshold alone flags many anti-NXP2 JDM (clinical-evidence.md section 3, item 13).

    When: anti-NXP2 positive, myositis on record, onset before 18 and within the onset window (24 months),
          and at least two of: current oedema; current skin ulcer; proximal strength <= 3 or CMAS < 15
          (score window, 90 days); current dysphagia or dysphonia; CD4/CD8 < 1.4 or ferritin > 200 ng/mL on
          the newest result within the lab window (180 days).
    Then: info card: plan early specialist review of escalation options and longer follow-up.
    """
    if not applies(facts, ctx):
        return None
    present = features_present(facts, ctx)
    return Finding(
        rule_id=RULE_ID,
        data=population_data(facts, ctx) + tuple(d for feature in present for d in feature.data),
        values={
            "count": str(len(present)),
            "features": ", ".join(f.name for f in present),
        },
        notes=later_negative_notes(facts),
        gaps=_gaps(facts, ctx),
    )
