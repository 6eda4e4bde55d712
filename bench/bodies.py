"""Request bodies for `make bench`: a patient-view call whose prefetch holds N Observations, in two mixes.

* `today`: the mix `make bench` always used: laboratory results in varied units, anti-NXP2 line blots, vital
  signs, and results of tests the service ignores (sodium, CRP, heart rate: about 30% of them).
* `read`: every Observation is a result the cards read (CK, ferritin, platelets, AST with ranges and flags;
  the first one a positive anti-NXP2 line blot): the prefetch of a long-followed JDM patient, the costly case.

Fixed seeds: the same N gives the same bytes on every run.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
MIXES = ("today", "read")

# (LOINC, display, unit, low, high, typical value): units vary the way real feeds do.
CK = ("2157-6", "Creatine kinase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 30, 200, 2600)
FERRITIN = ("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ng/mL", 15, 150, 340)
AST = ("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 10, 40, 90)
PLATELETS = ("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", 150, 400, 210)
READ_LABS = [CK, FERRITIN, PLATELETS, AST]
LABS = [
    CK,
    ("2157-6", "Creatine kinase [Enzymatic activity/volume] in Serum or Plasma", "ukat/L", 0.5, 3.3, 43),
    FERRITIN,
    ("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ug/L", 15, 150, 700),
    AST,
    PLATELETS,
    ("777-3", "Platelets [#/volume] in Blood by Automated count", "10*9/L", 150, 400, 170),
    ("2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "mg/dL", 0, 150, 160),
    ("3255-7", "Fibrinogen [Mass/volume] in Platelet poor plasma by Coagulation assay", "g/L", 2, 4, 3.1),
    ("89579-7", "Troponin I.cardiac [Mass/volume] in Serum or Plasma by High sensitivity method", "ng/L", 0, 34, 12),
    ("54218-3", "CD3+CD4+ cells/CD3+CD8+ cells [# Ratio] in Blood", "{ratio}", 1, 3.6, 1.3),
    ("1988-5", "C reactive protein [Mass/volume] in Serum or Plasma", "mg/L", 0, 5, 8),  # not a concept
    ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 135, 145, 139),  # not a concept
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 11.5, 15.5, 12.1),  # not a concept
    ("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 7, 40, 60),
]
VITALS = [
    ("29463-7", "Body weight", "kg", 31),
    ("8302-2", "Body height", "cm", 138),
    ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", 16.3),
    ("8310-5", "Body temperature", "Cel", 37.4),
    ("8867-4", "Heart rate", "/min", 96),  # not a concept
    ("9279-1", "Respiratory rate", "/min", 20),  # not a concept
]


def _base(index: int, rng: random.Random) -> dict[str, Any]:
    when = (NOW - timedelta(hours=6 * index + rng.randint(0, 5))).isoformat().replace("+00:00", "Z")
    return {
        "resourceType": "Observation",
        "id": f"obs-{index}",
        "meta": {"versionId": "1", "lastUpdated": when},
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": when,
        "issued": when,
    }


def _lab(base: dict[str, Any], row: tuple[Any, ...], rng: random.Random) -> dict[str, Any]:
    code, display, unit, low, high, value = row
    measured = round(value * rng.uniform(0.5, 1.5), 2)
    base["category"] = [{"coding": [{"system": CATEGORY, "code": "laboratory"}]}]
    base["code"] = {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display}
    base["valueQuantity"] = {"value": measured, "unit": unit, "system": UCUM, "code": unit}
    base["referenceRange"] = [{"low": {"value": low, "unit": unit, "system": UCUM, "code": unit},
                               "high": {"value": high, "unit": unit, "system": UCUM, "code": unit}}]
    flag = "H" if measured > high else "L" if measured < low else "N"
    base["interpretation"] = [{"coding": [{"system": V3, "code": flag}]}]
    base["performer"] = [{"reference": "Organization/lab", "display": "Hospital laboratory"}]
    return base


def _observation(index: int, rng: random.Random, mix: str) -> dict[str, Any]:
    base = _base(index, rng)
    if mix == "read" and index > 0:
        return _lab(base, READ_LABS[index % len(READ_LABS)], rng)
    kind = 0.0 if mix == "read" else rng.random()  # the read mix's first one: a positive anti-NXP2
    if kind < 0.02:  # anti-NXP2 on a line blot: local code, display naming the antibody, intensity
        base["category"] = [{"coding": [{"system": CATEGORY, "code": "laboratory"}]}]
        base["code"] = {"coding": [{"system": "http://lab.example.org/codes", "code": "MYO-NXP2",
                                    "display": "NXP-2 (Nuclear matrix protein-2) Ab"}],
                        "text": "Anti-NXP2 antibody"}
        base["valueQuantity"] = {"value": 72 if mix == "read" else rng.choice([8, 18, 48, 72])}
        base["method"] = {"text": "Line blot (EUROLINE)"}
        return base
    if kind < 0.35:
        code, display, unit, value = VITALS[rng.randrange(len(VITALS))]
        base["category"] = [{"coding": [{"system": CATEGORY, "code": "vital-signs"}]}]
        base["code"] = {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display}
        base["valueQuantity"] = {"value": round(value * rng.uniform(0.95, 1.05), 1), "unit": unit,
                                 "system": UCUM, "code": unit}
        return base
    return _lab(base, LABS[rng.randrange(len(LABS))], rng)


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r, "search": {"mode": "match"}}
                      for r in resources]}


def request_body(observations: int, seed: int = 7, mix: str = "today") -> bytes:
    """A patient-view request for a 10-year-old with JDM and `observations` Observations in prefetch."""
    rng = random.Random(seed)  # noqa: S311 - synthetic test data, not security
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "2016-05-12", "gender": "female",
               "name": [{"family": "Bench", "given": ["Child"]}]}
    active = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}
    conditions = [
        {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"}, "clinicalStatus": active,
         "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                            "code": "confirmed"}]},
         "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M33.02",
                              "display": "Juvenile dermatomyositis with myopathy"}]},
         "onsetDateTime": "2025-09-01"},
        {"resourceType": "Condition", "id": "c2", "subject": {"reference": "Patient/p1"}, "clinicalStatus": active,
         "code": {"coding": [{"system": "http://snomed.info/sct", "code": "40739000", "display": "Dysphagia"}]},
         "onsetDateTime": "2026-10-30"},
    ]
    procedures = [{"resourceType": "Procedure", "id": "pr1", "status": "completed",
                   "subject": {"reference": "Patient/p1"}, "performedDateTime": "2026-01-10",
                   "code": {"coding": [{"system": "http://snomed.info/sct", "code": "127783003",
                                        "display": "Spirometry"}]}}]
    body = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/123", "patientId": "p1"},
        "prefetch": {
            "patient": patient,
            "observations": _bundle([_observation(i, rng, mix) for i in range(observations)]),
            "conditions": _bundle(conditions),
            "procedures": _bundle(procedures),
            "diagnosticReports": _bundle([]),
            "imagingStudies": _bundle([]),
        },
    }
    return orjson.dumps(body)
