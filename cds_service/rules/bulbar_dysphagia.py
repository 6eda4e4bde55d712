"""Card `nxp2-bulbar-dysphagia`: anti-NXP2 myositis with bulbar weakness (or very low function scores)."""

from __future__ import annotations

from cds_service.facts.model import LabResult, PatientFacts, Problem
from cds_service.rules.card_data import (
    LATER_NEGATIVE_NOTE,
    antibody_data,
    lab_datum_as_reported,
    last_test_datum,
    later_negative_notes,
    none_on_record,
    problem_datum,
)
from cds_service.rules.criteria import (
    TEST_SOURCES,
    is_adult_onset,
    is_juvenile_onset,
    is_positive_myositis_patient,
    tests_within,
)
from cds_service.rules.gaps import data_gaps
from cds_service.rules.registry import Datum, Finding, RuleContext, rule
from cds_service.rules.words import ago_text, in_sentence

RULE_ID = "nxp2-bulbar-dysphagia"
BULBAR = ("dysphagia", "dysphonia", "aspiration")
# Function score concept -> the catalogue threshold it must be below.
SCORES = {"cmas": "cmas_below", "mmt8": "mmt8_below"}


def current_bulbar_problems(facts: PatientFacts) -> tuple[Problem, ...]:
    return tuple(p for concept in BULBAR for p in facts.problems_of(concept, current_only=True))


def low_function_scores(facts: PatientFacts, ctx: RuleContext) -> tuple[LabResult, ...]:
    """The newest CMAS / MMT8 within the score window when below the SHARE high-risk threshold."""
    if not ctx.switch("use_function_scores"):
        return ()
    low: list[LabResult] = []
    for concept, threshold in SCORES.items():
        latest = facts.latest(concept, ctx.now, ctx.window("score_window"))
        if latest is not None and latest.value is not None and latest.value < ctx.threshold(threshold, "{score}"):
            low.append(latest)
    return tuple(low)


def has_recent_swallow_assessment(facts: PatientFacts, ctx: RuleContext) -> bool:
    return bool(tests_within(facts, ("swallow-study",), ctx.now, ctx.window("swallow_assessment_window")))


def applies(facts: PatientFacts, ctx: RuleContext) -> bool:
    """A current bulbar problem or a very low function score. Nothing suppresses this card: a recent swallow
    assessment only lowers it to info, and a normal CK never counts."""
    return is_positive_myositis_patient(facts) and bool(
        current_bulbar_problems(facts) or low_function_scores(facts, ctx)
    )


def _feature_text(problems: tuple[Problem, ...], scores: tuple[LabResult, ...], ctx: RuleContext) -> str:
    named = [in_sentence(ctx.title(p.concept)) for p in problems]
    named += [f"{ctx.title(s.concept)} {s.value:g}" for s in scores if s.value is not None]
    return ", ".join(dict.fromkeys(named))


def _notes(facts: PatientFacts, scores: tuple[LabResult, ...]) -> tuple[str, ...]:
    notes: list[str] = []
    if is_juvenile_onset(facts):
        notes.append("juvenile-share-high-risk")
    elif is_adult_onset(facts) and facts.problems_of("dysphagia", current_only=True):
        notes.append("adult-cancer-risk-feature")
    if any(s.concept == "mmt8" for s in scores):
        notes.append("mmt8-scale")
    return (*notes, *later_negative_notes(facts))


@rule(
    RULE_ID,
    params={
        "cmas_below": "{score}",
        "mmt8_below": "{score}",
        "score_window": "duration",
        "swallow_assessment_window": "duration",
    },
    switches=("use_function_scores",),
    escalations=("recently-assessed",),
    notes=("juvenile-share-high-risk", "adult-cancer-risk-feature", "mmt8-scale", LATER_NEGATIVE_NOTE),
)
def bulbar_dysphagia(facts: PatientFacts, ctx: RuleContext) -> Finding | None:
    """SHARE 2017: aspiration or dysphagia and CMAS < 15 / MMT8 < 30 mark high-risk JDM; assess swallowing.

    Evidence rows W1, W2, W4, W7, W8, W10, G6, R4 (clinical-evidence.md 2c, 2d, 2f); anchors 4.1, 4.4.
    When: anti-NXP2 ever positive, a myositis diagnosis, and a current dysphagia, dysphonia/hoarseness
          or aspiration Condition, or (site switch) the newest CMAS or MMT8 within the score window
          below its catalogue threshold. CK is not read: a normal CK must not suppress this card.
    Then: warning to assess swallowing (speech-language pathology, videofluoroscopy), aspiration
          precautions, nutrition and respiratory muscles; info when a swallow assessment was done
          within the catalogue window.
    """
    if not applies(facts, ctx):
        return None
    problems = current_bulbar_problems(facts)
    scores = low_function_scores(facts, ctx)
    last = facts.last_test(("swallow-study",))
    data: list[Datum] = [
        *antibody_data(facts, ctx),
        *(problem_datum(p, ctx.title(p.concept)) for p in problems),
        *(lab_datum_as_reported(s, ctx.title(s.concept)) for s in scores),
        last_test_datum(last, ctx) if last is not None else none_on_record(ctx.title("swallow-study")),
    ]
    return Finding(
        rule_id=RULE_ID,
        data=tuple(data),
        values={
            "features": _feature_text(problems, scores, ctx),
            "assessed": "never on record" if last is None or last.performed is None
            else ago_text(last.performed, ctx.now),
        },
        escalation="recently-assessed" if has_recent_swallow_assessment(facts, ctx) else None,
        notes=_notes(facts, scores),
        gaps=data_gaps(
            facts, ctx, labs=tuple(SCORES), tests=("swallow-study",), problems=BULBAR, prefetch_keys=TEST_SOURCES
        ),
    )
