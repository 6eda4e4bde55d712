"""Card 6 `nxp2-jdm-gi-alarm`: a recent gastrointestinal warning sign in a child with anti-NXP2 JDM."""

from __future__ import annotations

from datetime import datetime, timedelta

from cds_service.facts.model import PatientFacts, Problem
from cds_service.rules.card_data import LATER_NEGATIVE_NOTE, later_negative_notes, population_data, problem_datum
from cds_service.rules.criteria import is_positive_jdm_child
from cds_service.rules.gaps import issue_gaps
from cds_service.rules.registry import Finding, RuleContext, rule
from cds_service.rules.words import day, in_sentence, window_text

RULE_ID = "nxp2-jdm-gi-alarm"

# Problem concepts that count as a GI warning sign, most serious first (named by their value sets' titles).
GI_SIGNS = ("gi-perforation", "pneumatosis", "gi-bleeding", "ileus", "bowel-wall-thickening", "abdominal-pain")


def last_known(sign: Problem) -> datetime | None:
    """Return the latest date the record shows the sign.

    For a current sign this is the later of onset and recorded date: a clinician recording a persisting
    sign today is news. For a resolved sign it is the onset (else recorded date), so an old episode entered
    into the record late does not raise an alarm.
    """
    if sign.current:
        dates = [d for d in (sign.onset, sign.recorded) if d is not None]
        return max(dates, default=None)
    return sign.noted


def is_recent(sign: Problem, now: datetime, window: timedelta) -> bool:
    """True when the sign was last known within the window.

    A date ahead of now (clock skew, a typing slip) still counts: for a critical alarm, showing it is safer.
    """
    when = last_known(sign)
    return when is not None and now - when <= window


def recent_gi_signs(facts: PatientFacts, ctx: RuleContext) -> list[Problem]:
    """Every GI warning sign known within the sign window, most serious concept first, newest first."""
    window = ctx.window("sign_window")
    found: list[Problem] = []
    for concept in GI_SIGNS:
        signs = [p for p in facts.problems_of(concept) if is_recent(p, ctx.now, window)]
        found += sorted(signs, key=lambda p: last_known(p) or ctx.now, reverse=True)
    return found


def undated_signs(facts: PatientFacts) -> list[Problem]:
    return [p for concept in GI_SIGNS for p in facts.problems_of(concept, current_only=True) if last_known(p) is None]


def applies(facts: PatientFacts, ctx: RuleContext) -> bool:
    """A child with anti-NXP2 JDM and a GI warning sign known within the sign window."""
    return is_positive_jdm_child(facts, ctx.now) and bool(recent_gi_signs(facts, ctx))


@rule(RULE_ID, params={"sign_window": "duration"}, notes=("all-resolved", LATER_NEGATIVE_NOTE))
def jdm_gi_alarm(facts: PatientFacts, ctx: RuleContext) -> Finding | None:
    """SHARE 2017 (Bellutti Enders, Ann Rheum Dis): GI vasculitis is a high-risk JDM feature needing immediate referral.

    Evidence: G1 (S3: 6/26 anti-NXP2 JDM had severe GI involvement, 5 died of GI perforation), G8 (S2: GI
    involvement 2/18); clinical-evidence.md section 4.4.

    When: anti-NXP2 positive, myositis on record, onset before 18 and still under 18, and a GI warning sign
          (abdominal pain, GI bleeding, ileus, GI perforation, pneumatosis, bowel-wall oedema or thickening)
          known within the sign window (14 days), whatever its clinical status.
    Then: critical card: same-day assessment, urgent surgical and GI review, imaging for perforation.
    """
    if not applies(facts, ctx):
        return None
    signs = recent_gi_signs(facts, ctx)
    notes = ("all-resolved",) if not any(s.current for s in signs) else ()
    gaps = tuple(
        f"{ctx.title(p.concept)} ({p.ref.reference}) has no onset or recorded date: not judged."
        for p in undated_signs(facts)
    ) + tuple(gap for concept in GI_SIGNS for gap in issue_gaps(facts, concept, ctx.title(concept)))
    newest = max(last_known(p) or ctx.now for p in signs)
    return Finding(
        rule_id=RULE_ID,
        data=population_data(facts, ctx) + tuple(problem_datum(p, ctx.title(p.concept)) for p in signs),
        values={
            "window": window_text(ctx, "sign_window"),
            "signs": ", ".join(dict.fromkeys(in_sentence(ctx.title(p.concept)) for p in signs)),
            "sign_date": day(newest),
        },
        notes=notes + later_negative_notes(facts),
        gaps=gaps,
    )
