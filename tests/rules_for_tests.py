"""A rule that exists only in tests, so the loader, registry and renderer are tested without clinical rules."""

from __future__ import annotations

from cds_service.facts.model import PatientFacts, ResourceRef
from cds_service.rules.registry import Datum, Finding, RegisteredRule, RuleContext, rule

TEST_REGISTRY: dict[str, RegisteredRule] = {}


@rule(
    "test-born-before",
    params={"born_before": "a", "very_old_before": "a"},
    escalations=("very-old",),
    registry=TEST_REGISTRY,
)
def born_before(facts: PatientFacts, ctx: RuleContext) -> Finding | None:
    """When: the patient was born before the `born_before` year. Then: a test card."""
    if facts.birth_date is None or facts.birth_date.year >= ctx.params["born_before"].value:
        return None
    return Finding(
        rule_id="test-born-before",
        data=(Datum("Birth date", facts.birth_date.isoformat(), None, ResourceRef("Patient", facts.patient_id)),),
        values={"year": str(facts.birth_date.year)},
        escalation="very-old" if facts.birth_date.year < ctx.params["very_old_before"].value else None,
    )
