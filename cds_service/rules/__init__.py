"""Pure clinical rules: `(PatientFacts, RuleContext) -> Finding | None`, one module per card.

Importing this package imports every rule module, so `REGISTRY` is complete.
"""

# Rule modules register themselves on import; each card has its own line so parallel additions merge cleanly.
from cds_service.rules import jdm_cardiac_evaluation as jdm_cardiac_evaluation
from cds_service.rules import jdm_gi_alarm as jdm_gi_alarm
from cds_service.rules import jdm_mas_pattern as jdm_mas_pattern
from cds_service.rules import jdm_refractory_risk as jdm_refractory_risk
from cds_service.rules import positive_no_myositis_diagnosis as positive_no_myositis_diagnosis
from cds_service.rules.registry import REGISTRY, Datum, Finding, RuleContext, rule

__all__ = ["REGISTRY", "Datum", "Finding", "RuleContext", "rule"]
