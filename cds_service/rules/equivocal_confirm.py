"""Card `nxp2-equivocal-confirm`: myositis on record, but the only usable anti-NXP2 results are equivocal."""

from __future__ import annotations

from cds_service.facts.model import AntibodyResult, PatientFacts, Positivity
from cds_service.rules.card_data import antibody_datum, myositis_datum
from cds_service.rules.criteria import has_myositis_diagnosis
from cds_service.rules.gaps import issue_gaps
from cds_service.rules.registry import Datum, Finding, RuleContext, rule

RULE_ID = "nxp2-equivocal-confirm"


def equivocal_results(facts: PatientFacts) -> tuple[AntibodyResult, ...]:
    return tuple(a for a in facts.antibodies if a.usable and a.positivity is Positivity.EQUIVOCAL)


def applies(facts: PatientFacts, ctx: RuleContext) -> bool:
    """A myositis diagnosis, and anti-NXP2 results that are equivocal at best (never a usable positive)."""
    return facts.antibody_status() is Positivity.EQUIVOCAL and has_myositis_diagnosis(facts)


@rule(RULE_ID, params={"line_blot_cutoff": "{intensity}"})
def equivocal_confirm(facts: PatientFacts, ctx: RuleContext) -> Finding | None:
    """Anti-NXP2 cards rest on a clear positive: the seeds counted a line-blot intensity above 25 as positive.

    Evidence: the seeds' line-blot cut-off (> 25) and line-blot false positives (Discussion of the adult
    series); weak positives (intensity 11-25, "weak"/"low positive" wording) are read as equivocal.

    When: a myositis diagnosis is on record (any clinical status), and every usable anti-NXP2 result is
          equivocal (weak or low positive, borderline, intensity 11-25) with none positive.
    Then: info card: confirm the antibody by a second method (immunoprecipitation, another immunoassay or
          another laboratory) before the anti-NXP2 cards can apply; cards 1-9 stay silent meanwhile.
    """
    if not applies(facts, ctx):
        return None
    data: list[Datum | None] = [antibody_datum(result, ctx) for result in equivocal_results(facts)]
    data.append(myositis_datum(facts, ctx))
    return Finding(
        rule_id=RULE_ID,
        data=tuple(d for d in data if d is not None),
        values={"cutoff": f"{ctx.threshold('line_blot_cutoff', '{intensity}'):g}"},
        gaps=tuple(issue_gaps(facts, "anti-nxp2", ctx.title("anti-nxp2"))),
    )
