"""Units: the explicit table that converts what labs send into each numeric concept's canonical unit.

Hand-written on purpose (terminology.md section 4b): ucumvert refuses the real-world strings labs send
(`IU/L`, `µg/L`, `x10^9/L`) and reads `K/uL` as kelvin per microlitre; pint reads `10*9/L` as 90/L; neither
knows the molar masses that turn pmol/L ferritin or mmol/L triglycerides into mass units. So every accepted
unit is listed here with its factor, per concept, and anything else fails closed (no value, no card).

A unit string is normalised before lookup: whitespace removed, µ/μ/mc -> u, `^` -> `*`, lower case. So
`µg/L`, `ug/L` and `mcg/L` are one entry, and `10^9/L` is `10*9/l`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Conversion:
    """value_in_canonical = value * factor + offset (offset is non-zero only for Fahrenheit)."""

    factor: float
    offset: float = 0.0

    def apply(self, value: float) -> float:
        return value * self.factor + self.offset


SAME: Final = Conversion(1.0)

# Each numeric concept's canonical unit is stated once, as `unit:` in its value-set file
# (cards/valuesets/<concept>.yaml); `valuesets.load_valuesets` checks that the table below converts it unchanged.

# Enzyme activity (CK, AST): 1 ukat/L = 60 U/L (1 U = 1 umol/min, 1 kat = 1 mol/s). IU/L -> U/L is 1:1 by
# clinical convention; strict UCUM calls [IU] and U not commensurable, so it is an explicit alias here.
_ENZYME = {
    "U/L": 1.0, "IU/L": 1.0, "[IU]/L": 1.0, "units/L": 1.0, "unit/L": 1.0, "U/l": 1.0,
    "ukat/L": 60.0, "µkat/L": 60.0, "nkat/L": 0.06,
}
# Mass concentration in ng/mL = ug/L. Ferritin MW ~445 kDa: 1 ng/mL = 2.247 pmol/L, so pmol/L x 0.445.
_NG_PER_ML = {"ng/mL": 1.0, "ug/L": 1.0, "µg/L": 1.0, "mcg/L": 1.0, "ng/ml": 1.0}
_FERRITIN = {**_NG_PER_ML, "pmol/L": 0.445}
# Platelets in 10*3/uL = 10*9/L; a count per uL (= per mm3) is divided by 1000.
_PLATELETS = {
    "10*3/uL": 1.0, "10^3/uL": 1.0, "x10E3/uL": 1.0, "x10*3/uL": 1.0, "x10^3/uL": 1.0, "K/uL": 1.0,
    "K/mcL": 1.0, "thou/uL": 1.0, "10*3/mm3": 1.0, "10*9/L": 1.0, "10^9/L": 1.0, "x10E9/L": 1.0,
    "x10*9/L": 1.0, "x10^9/L": 1.0, "G/L": 1.0, "/uL": 0.001, "/mm3": 0.001, "{cells}/uL": 0.001,
    "cells/uL": 0.001,
}
# Triglycerides MW 885.7: 1 mmol/L = 88.57 mg/dL (terminology.md 4a).
_TRIGLYCERIDES = {"mg/dL": 1.0, "mg/dl": 1.0, "mmol/L": 88.57, "g/L": 100.0}
# Fibrinogen: 1 g/L = 100 mg/dL; MW 340 kDa, so 1 umol/L = 340 ug/mL = 34 mg/dL (verification.md 3.2:
# 360 mg/dL = 3.6 g/L = 10.6 umol/L).
_FIBRINOGEN = {"mg/dL": 1.0, "g/L": 100.0, "mg/L": 0.1, "umol/L": 34.0, "µmol/L": 34.0}
# Troponin in ng/L = pg/mL; ng/mL = ug/L = 1000 ng/L.
_TROPONIN = {"ng/L": 1.0, "pg/mL": 1.0, "ng/mL": 1000.0, "ug/L": 1000.0, "µg/L": 1000.0, "mcg/L": 1000.0}
# Dimensionless scores, ratios and titres: UCUM annotations, "1", or no unit at all.
_RATIO = {"{ratio}": 1.0, "1": 1.0, "ratio": 1.0, "": 1.0, "{ratio}/{ratio}": 1.0}
_SCORE = {"{score}": 1.0, "1": 1.0, "score": 1.0, "{points}": 1.0, "points": 1.0, "": 1.0}
_TITER = {"{titer}": 1.0, "titer": 1.0, "{titre}": 1.0, "1": 1.0, "": 1.0}
_BMI = {"kg/m2": 1.0, "kg/m^2": 1.0, "kg/(m2)": 1.0, "kg/m²": 1.0, "kg/(m^2)": 1.0}
_WEIGHT = {
    "kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "lb": 0.45359237, "lbs": 0.45359237,
    "[oz_av]": 0.028349523125, "oz": 0.028349523125,
}
_HEIGHT = {"cm": 1.0, "m": 100.0, "mm": 0.1, "[in_i]": 2.54, "in": 2.54, "[ft_i]": 30.48, "ft": 30.48}

_FAHRENHEIT = Conversion(5 / 9, -32 * 5 / 9)
_TEMPERATURE: dict[str, Conversion] = {
    "Cel": SAME, "°C": SAME, "C": SAME, "degC": SAME, "[degC]": SAME,
    "[degF]": _FAHRENHEIT, "°F": _FAHRENHEIT, "F": _FAHRENHEIT, "degF": _FAHRENHEIT,
}

_FACTORS: dict[str, dict[str, float]] = {
    "ck": _ENZYME,
    "ast": _ENZYME,
    "ferritin": _FERRITIN,
    "platelets": _PLATELETS,
    "triglycerides": _TRIGLYCERIDES,
    "fibrinogen": _FIBRINOGEN,
    "troponin-i": _TROPONIN,
    "troponin-t": _TROPONIN,
    "ck-mb": _NG_PER_ML,
    "cd4-cd8-ratio": _RATIO,
    "bmi": _BMI,
    "body-weight": _WEIGHT,
    "body-height": _HEIGHT,
    "cmas": _SCORE,
    "mmt8": _SCORE,
    "proximal-strength": _SCORE,
    "ana": _TITER,
}


def normalise(unit: str) -> str:
    """Return the lookup key of a unit string: no whitespace, u for micro, * for ^, lower case."""
    key = "".join(unit.split())
    key = key.replace("µ", "u").replace("μ", "u").replace("^", "*")
    key = key.lower()
    if key.startswith("mc") and not key.startswith("mcl"):
        key = "u" + key[2:]
    return key.replace("/mcl", "/ul")


def _table() -> dict[tuple[str, str], Conversion]:
    table: dict[tuple[str, str], Conversion] = {}
    for concept, factors in _FACTORS.items():
        for unit, factor in factors.items():
            table[(concept, normalise(unit))] = Conversion(factor)
    for unit, conversion in _TEMPERATURE.items():
        table[("body-temperature", normalise(unit))] = conversion
    return table


_TABLE: Final = _table()
# Raw unit strings repeat across thousands of Observations: remember each (concept, raw) we normalised.
_SEEN: dict[tuple[str, str], Conversion | None] = {}
_SEEN_LIMIT = 4096


def conversion(concept: str, unit: str) -> Conversion | None:
    """Return the conversion of `unit` to the concept's canonical unit, or None when the unit is unknown."""
    key = (concept, unit)
    if key in _SEEN:
        return _SEEN[key]
    result = _TABLE.get((concept, normalise(unit)))
    if len(_SEEN) < _SEEN_LIMIT:
        _SEEN[key] = result
    return result


def numeric_concepts() -> frozenset[str]:
    """The concepts that have a conversion table: exactly the `kind: lab` value sets (checked at load)."""
    return frozenset(_FACTORS) | {"body-temperature"}


def converts_unchanged(concept: str, unit: str) -> bool:
    """True when `unit` is one the table converts to the concept's canonical unit with factor 1 and no offset."""
    return _TABLE.get((concept, normalise(unit))) == SAME
