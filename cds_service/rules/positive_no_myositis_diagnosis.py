"""Card 10 `nxp2-positive-no-myositis-diagnosis`: an anti-NXP2 result with no myositis diagnosis on record."""

from __future__ import annotations

from datetime import UTC, datetime

from cds_service.facts.model import AntibodyResult, PatientFacts, Positivity
from cds_service.rules.card_data import LATER_NEGATIVE_NOTE, antibody_data, antibody_datum, later_negative_notes
from cds_service.rules.criteria import has_myositis_diagnosis
from cds_service.rules.gaps import issue_gaps
from cds_service.rules.registry import Finding, RuleContext, rule

RULE_ID = "nxp2-positive-no-myositis-diagnosis"
_UNDATED = datetime.min.replace(tzinfo=UTC)


def is_positive_or_equivocal(facts: PatientFacts) -> bool:
    """True when a usable anti-NXP2 result was ever positive or equivocal (the only card an equivocal raises)."""
    return facts.antibody_status() in (Positivity.POSITIVE, Positivity.EQUIVOCAL)


def newest_equivocal(facts: PatientFacts) -> AntibodyResult | None:
    equivocal = [a for a in facts.antibodies if a.usable and a.positivity is Positivity.EQUIVOCAL]
    return max(equivocal, key=lambda a: a.effective or _UNDATED, default=None)


def is_weak_line_blot(facts: PatientFacts, ctx: RuleContext) -> bool:
    """True when positives carry a line-blot intensity and none exceeds the seeds' cut-off (S0, S4: above 25)."""
    cutoff = ctx.threshold("line_blot_cutoff", "{intensity}")
    positives = [a for a in facts.antibodies if a.usable and a.positivity is Positivity.POSITIVE]
    intensities = [a.intensity for a in positives if a.intensity is not None]
    return bool(intensities) and all(value <= cutoff for value in intensities)


def applies(facts: PatientFacts, ctx: RuleContext) -> bool:
    """An anti-NXP2 result ever positive or equivocal, and no myositis diagnosis in any clinical status."""
    return is_positive_or_equivocal(facts) and not has_myositis_diagnosis(facts)


@rule(
    RULE_ID,
    params={"line_blot_cutoff": "{intensity}"},
    notes=("equivocal-only", "weak-line-blot", LATER_NEGATIVE_NOTE),
)
def positive_no_myositis_diagnosis(facts: PatientFacts, ctx: RuleContext) -> Finding | None:
    """Anti-NXP2 is a myositis-specific antibody used in DM classification (2018 ENMC; S0 Introduction).

    Evidence: S0 (11/70 adults without rash), S1 (27/76 = 35.5% polymyositis phenotype, 8/76 = 10.5% no
    rash, one patient with only a raised CK), and line-blot false positives (S0 Discussion; section 3 item 12).

    When: any usable anti-NXP2 result was ever positive or equivocal, and no DM, JDM, PM or myositis
          Condition is on record in any clinical status (refuted and entered-in-error are dropped upstream).
    Then: info card: reconcile the problem list, or review clinically and confirm a weak or isolated
          result. The card does not assert myositis.
    """
    if not applies(facts, ctx):
        return None
    status = facts.antibody_status()
    if status is Positivity.POSITIVE:
        data = antibody_data(facts, ctx)
        notes: tuple[str, ...] = ("weak-line-blot",) if is_weak_line_blot(facts, ctx) else ()
    else:
        equivocal = newest_equivocal(facts)
        data = () if equivocal is None else (antibody_datum(equivocal, ctx),)
        notes = ("equivocal-only",)
    antibody = ctx.title("anti-nxp2")
    gaps = issue_gaps(facts, "anti-nxp2", antibody)
    gaps += issue_gaps(facts, "myositis", f"{ctx.title('myositis')} diagnosis")
    gaps += [
        f"{antibody} result ({a.ref.reference}) not used: {a.problem or 'not usable'}."
        for a in facts.antibodies if not a.usable
    ]
    return Finding(
        rule_id=RULE_ID,
        data=data,
        values={"result": "equivocal" if status is Positivity.EQUIVOCAL else "positive"},
        notes=notes + later_negative_notes(facts),
        gaps=tuple(gaps),
    )
