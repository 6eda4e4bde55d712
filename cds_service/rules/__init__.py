"""Pure clinical rules: `(PatientFacts, RuleContext) -> Finding | None`, one module per card.

Every card module has one shape:
- `RULE_ID = "nxp2-..."`, the card id of its catalogue entry (cards/rules/<RULE_ID>.yaml);
- named predicates (`has_...`, `is_...`) over facts, built from `rules.criteria`;
- `applies(facts, ctx) -> bool`: the "When" of the card, and nothing else;
- the rule function, registered with `@rule(RULE_ID, params=..., switches=..., escalations=..., notes=...)`, whose
  docstring states the evidence and the clinical When/Then: `if not applies(facts, ctx): return None`, then it
  builds the `Finding` (data lines from `rules.card_data`, values and durations from `rules.words`, gap
  sentences from `rules.gaps`, concept names from `ctx.title(concept)`, the value set's title).
Thresholds and windows come from `ctx` (the catalogue), never from code.

Importing this package imports every rule module, so `REGISTRY` is complete.
"""

# Each card module registers its rule on import.
from cds_service.rules import (  # noqa: F401
    adult_cancer_screening,
    bulbar_dysphagia,
    ild_baseline_screen,
    ild_monitoring,
    jdm_cardiac_evaluation,
    jdm_gi_alarm,
    jdm_gi_risk_watch,
    jdm_mas_pattern,
    jdm_refractory_risk,
    positive_no_myositis_diagnosis,
)
from cds_service.rules.registry import REGISTRY, Datum, Finding, RuleContext, rule

__all__ = ["REGISTRY", "Datum", "Finding", "RuleContext", "rule"]
