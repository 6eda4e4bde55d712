"""Benchmark one in-process evaluation against the JSON parse of its request body (`make bench`).

For prefetch bodies of 50, 500 and 5,000 Observations (a realistic mix: laboratory results in varied units,
anti-NXP2 line-blot results, vital signs, and results of tests the service ignores) it prints the median time of
`orjson.loads` of the body, the median time of the whole evaluation (parse, HookRequest validation, prefetch
resolution, facts, rules, render), their ratio, and the time per Observation. Target: the evaluation within
3 times the parse at every size, growing linearly. Services are built by `app.build_services` from the real
catalogue, as the app builds them.

It also shows that HookRequest validation does not deep-copy or validate the prefetch resources: the model's
`dict[str, Any]` prefetch values are the very objects orjson produced.
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cds_service.app import build_services  # noqa: E402
from cds_service.config import Settings  # noqa: E402
from cds_service.facts.build import build_facts  # noqa: E402
from cds_service.hooks.evaluate import evaluate  # noqa: E402
from cds_service.hooks.prefetch import resolve  # noqa: E402
from cds_service.protocol import HookRequest  # noqa: E402
from cds_service.support.clock import FixedClock  # noqa: E402
from cds_service.support.ids import SequentialIds  # noqa: E402

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SIZES = (50, 500, 5000)
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

# (LOINC, display, unit, low, high, typical value): units vary the way real feeds do.
LABS = [
    ("2157-6", "Creatine kinase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 30, 200, 2600),
    ("2157-6", "Creatine kinase [Enzymatic activity/volume] in Serum or Plasma", "ukat/L", 0.5, 3.3, 43),
    ("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ng/mL", 15, 150, 340),
    ("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ug/L", 15, 150, 700),
    ("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 10, 40, 90),
    ("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", 150, 400, 210),
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


def _observation(index: int, rng: random.Random) -> dict[str, Any]:
    when = (NOW - timedelta(hours=6 * index + rng.randint(0, 5))).isoformat().replace("+00:00", "Z")
    base: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"obs-{index}",
        "meta": {"versionId": "1", "lastUpdated": when},
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": when,
        "issued": when,
    }
    kind = rng.random()
    if kind < 0.02:  # anti-NXP2 on a line blot: local code, display naming the antibody, intensity
        base["category"] = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                         "code": "laboratory"}]}]
        base["code"] = {"coding": [{"system": "http://lab.example.org/codes", "code": "MYO-NXP2",
                                    "display": "NXP-2 (Nuclear matrix protein-2) Ab"}],
                        "text": "Anti-NXP2 antibody"}
        base["valueQuantity"] = {"value": rng.choice([8, 18, 48, 72])}
        base["method"] = {"text": "Line blot (EUROLINE)"}
        return base
    if kind < 0.35:
        code, display, unit, value = VITALS[rng.randrange(len(VITALS))]
        base["category"] = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                         "code": "vital-signs"}]}]
        base["code"] = {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display}
        base["valueQuantity"] = {"value": round(value * rng.uniform(0.95, 1.05), 1), "unit": unit,
                                 "system": UCUM, "code": unit}
        return base
    code, display, unit, low, high, value = LABS[rng.randrange(len(LABS))]
    measured = round(value * rng.uniform(0.5, 1.5), 2)
    base["category"] = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                     "code": "laboratory"}]}]
    base["code"] = {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display}
    base["valueQuantity"] = {"value": measured, "unit": unit, "system": UCUM, "code": unit}
    base["referenceRange"] = [{"low": {"value": low, "unit": unit, "system": UCUM, "code": unit},
                               "high": {"value": high, "unit": unit, "system": UCUM, "code": unit}}]
    flag = "H" if measured > high else "L" if measured < low else "N"
    base["interpretation"] = [{"coding": [{"system": V3, "code": flag}]}]
    base["performer"] = [{"reference": "Organization/lab", "display": "Hospital laboratory"}]
    return base


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r, "search": {"mode": "match"}}
                      for r in resources]}


def request_body(observations: int, seed: int = 7) -> bytes:
    """A patient-view request for a 10-year-old with JDM and `observations` Observations in prefetch."""
    rng = random.Random(seed)  # noqa: S311 - synthetic test data, not security
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "2016-05-12", "gender": "female",
               "name": [{"family": "Bench", "given": ["Child"]}]}
    conditions = [
        {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
         "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                        "code": "active"}]},
         "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                            "code": "confirmed"}]},
         "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M33.02",
                              "display": "Juvenile dermatomyositis with myopathy"}]},
         "onsetDateTime": "2025-09-01"},
        {"resourceType": "Condition", "id": "c2", "subject": {"reference": "Patient/p1"},
         "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                        "code": "active"}]},
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
            "observations": _bundle([_observation(i, rng) for i in range(observations)]),
            "conditions": _bundle(conditions),
            "procedures": _bundle(procedures),
            "diagnosticReports": _bundle([]),
            "imagingStudies": _bundle([]),
        },
    }
    return orjson.dumps(body)


def medians(actions: list[Callable[[], object]], repeats: int) -> list[float]:
    """Median wall time of each action, run in turn so that all of them see the same machine load."""
    for action in actions:
        action()  # warm caches (unit and text look-ups, lazy model builds)
    times: list[list[float]] = [[] for _ in actions]
    gc.collect()
    for _ in range(repeats):
        for index, action in enumerate(actions):
            start = time.perf_counter()
            action()
            times[index].append(time.perf_counter() - start)
    return [statistics.median(found) for found in times]


def measure(services: Any, gc_on: bool, sizes: tuple[int, ...] = SIZES) -> float:
    """Print one table; return the worst ratio of evaluation to parse."""
    service = services.catalogue.service("nxp2-myositis")
    assert service is not None
    print(f"\ngarbage collector {'on (as in production)' if gc_on else 'off while timing (intrinsic cost)'}")
    print(f"{'observations':>12} {'body KB':>8} {'orjson.loads ms':>16} {'evaluation ms':>14} {'ratio':>6} "
          f"{'us/obs':>7} | {'validate ms':>11} {'resolve ms':>10} {'facts ms':>9} {'cards':>5}")
    worst = 0.0
    for size in sizes:
        body = request_body(size)
        repeats = max(15, 20000 // size)

        def parse(body: bytes = body) -> object:
            return orjson.loads(body)

        def whole(body: bytes = body) -> object:
            request = HookRequest.model_validate(orjson.loads(body))
            return evaluate("nxp2-myositis", request, services)

        parsed = orjson.loads(body)
        request = HookRequest.model_validate(parsed)
        # No deep copy: the validated request holds the very resource objects orjson produced.
        assert request.prefetch is not None
        assert request.prefetch["observations"]["entry"] is parsed["prefetch"]["observations"]["entry"]
        data = resolve(service.prefetch, service.required_prefetch, request)
        if not gc_on:
            gc.disable()
        try:
            t_parse, t_whole, t_validate, t_resolve, t_facts = medians([
                parse,
                whole,
                lambda parsed=parsed: HookRequest.model_validate(parsed),
                lambda r=request: resolve(service.prefetch, service.required_prefetch, r),
                lambda d=data: build_facts(d.patient, d.resources, NOW, services.valuesets, unavailable=d.unavailable),
            ], repeats)
        finally:
            gc.enable()
        cards = len(whole().response.cards)  # type: ignore[attr-defined]
        ratio = t_whole / t_parse
        worst = max(worst, ratio)
        print(f"{size:>12} {len(body) / 1024:>8.0f} {t_parse * 1e3:>16.3f} {t_whole * 1e3:>14.3f} {ratio:>6.2f} "
              f"{t_whole / size * 1e6:>7.1f} | {t_validate * 1e3:>11.3f} {t_resolve * 1e3:>10.3f} "
              f"{t_facts * 1e3:>9.3f} {cards:>5}")
    return worst


def main() -> int:
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(mode="development", data_dir=Path(data_dir))
        services = build_services(settings, clock=FixedClock(NOW), ids=SequentialIds())
        worst_on = measure(services, gc_on=True)
        worst_off = measure(services, gc_on=False)
    print(f"\nworst ratio {worst_on:.2f} with the garbage collector on, {worst_off:.2f} with it off (target <= 3.0)")
    print("HookRequest validation keeps the prefetch resources as parsed (no copy, no validation of their content)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
