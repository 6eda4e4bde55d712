"""Positivity vocabularies: coded values, interpretation flags and result strings -> Positivity.

Pure functions on values `facts.build` has already taken out of the FHIR resource. Sources: terminology.md
section 2 (SNOMED qualifier values, HL7 v3 ObservationInterpretation, the same letters as HL7 v2 table 0078)
and section 1a (how line-blot laboratories word their results: "1+/2+/3+", "borderline", "strong positive").
"""

from __future__ import annotations

from typing import Final

from cds_service.facts.model import Positivity
from cds_service.facts.valuesets import SNOMED, QuantityCutoffs

POSITIVE, EQUIVOCAL, NEGATIVE = Positivity.POSITIVE, Positivity.EQUIVOCAL, Positivity.NEGATIVE

# SNOMED CT qualifier values in valueCodeableConcept (terminology.md section 2; present/absent/indeterminate
# are the qualifier values radiology finding models use for presence).
CODED_VALUES: Final[dict[tuple[str, str], Positivity]] = {
    (SNOMED, "10828004"): POSITIVE,  # Positive
    (SNOMED, "260373001"): POSITIVE,  # Detected
    (SNOMED, "52101004"): POSITIVE,  # Present
    (SNOMED, "260385009"): NEGATIVE,  # Negative
    (SNOMED, "260415000"): NEGATIVE,  # Not detected
    (SNOMED, "2667000"): NEGATIVE,  # Absent
    (SNOMED, "82334004"): EQUIVOCAL,  # Indeterminate
}

INTERPRETATION_SYSTEMS: Final = frozenset({
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
    "http://hl7.org/fhir/v3/ObservationInterpretation",
    "http://terminology.hl7.org/CodeSystem/v2-0078",
    "http://hl7.org/fhir/v2/0078",
    "",
})
# H/HH/A/AA say the value is outside the normal range: for an antibody that means present.
INTERPRETATIONS: Final[dict[str, Positivity]] = {
    "POS": POSITIVE, "DET": POSITIVE, "H": POSITIVE, "HH": POSITIVE, "A": POSITIVE, "AA": POSITIVE,
    "NEG": NEGATIVE, "ND": NEGATIVE, "N": NEGATIVE,
    "IND": EQUIVOCAL, "E": EQUIVOCAL,
}

_WORDS: Final[dict[str, Positivity]] = {
    **dict.fromkeys(
        (
            "positive", "pos", "strong positive", "strongly positive", "high positive", "moderate positive",
            "detected", "present", "reactive",
            "+", "++", "+++", "++++", "1+", "2+", "3+", "4+", "abnormal",
        ),
        POSITIVE,
    ),
    **dict.fromkeys(
        (
            # Weak and low positives are read as equivocal (issue 14): the seeds count only a clear positive.
            "weak positive", "weakly positive", "low positive", "low-positive", "weak-positive", "(+) weak",
            "borderline", "borderline positive", "equivocal", "indeterminate", "inconclusive", "+/-", "(+)",
            "weakly reactive", "low level", "trace",
        ),
        EQUIVOCAL,
    ),
    **dict.fromkeys(
        (
            "negative", "neg", "not detected", "none detected", "undetected", "absent", "not present",
            "non-reactive", "nonreactive", "non reactive", "-", "0", "normal",
        ),
        NEGATIVE,
    ),
}


def from_code(system: str, code: str) -> Positivity | None:
    return CODED_VALUES.get((system, code))


def from_interpretation(system: str, code: str) -> Positivity | None:
    if system not in INTERPRETATION_SYSTEMS:
        return None
    return INTERPRETATIONS.get(code.upper())


def from_text(text: str) -> Positivity | None:
    """Read a result string: "Positive", "Strong positive", "2+", "Borderline", "Negative (<5)"."""
    key = " ".join(text.lower().split()).strip(" .!")
    found = _WORDS.get(key)
    if found is not None or not key:
        return found
    # "Positive (3+)", "Negative, see comment": read the words before a bracket or separator.
    for separator in ("(", ",", ";", ":"):
        head = key.split(separator, 1)[0].strip(" .")
        if head and head != key:
            found = _WORDS.get(head)
            if found is not None:
                return found
    return None


def from_range(value: float, low: float | None, high: float | None) -> Positivity | None:
    """Above the upper limit of the normal range is positive, within it negative; None without a limit."""
    if high is None:
        return None
    return POSITIVE if value > high else NEGATIVE


def from_cutoffs(value: float, unit: str, cutoffs: QuantityCutoffs) -> Positivity | None:
    """Apply the value set's configured cut-off; None when it is not stated in this unit."""
    if not cutoffs.applies_to(unit):
        return None
    if value > cutoffs.positive_above:
        return POSITIVE
    if cutoffs.equivocal_above is not None and value > cutoffs.equivocal_above:
        return EQUIVOCAL
    return NEGATIVE
