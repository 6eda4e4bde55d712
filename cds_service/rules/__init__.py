"""Pure clinical rules: `(PatientFacts, RuleContext) -> Finding | None`, one module per card.

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
