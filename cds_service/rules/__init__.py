"""Pure clinical rules: `(PatientFacts, RuleContext) -> Finding | None`, one module per card.

Importing this package imports every rule module, so `REGISTRY` is complete.
"""

from cds_service.rules.registry import REGISTRY, Datum, Finding, RuleContext, rule

__all__ = ["REGISTRY", "Datum", "Finding", "RuleContext", "rule"]
