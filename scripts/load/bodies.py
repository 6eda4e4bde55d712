"""Build the load test's patient-view requests from the fixture Bundles: full prefetch, small and large.

A fixture Bundle (a collection of one patient's resources) becomes a `patient-view` request with every
prefetch key of the service's templates filled, by the code of `nxp2-cds request FILE`
(cds_service/tools/hook_request.py). A large request is a fixture patient padded to 500 Observations of
routine lab results and vital signs (LOINC codes and UCUM units of docs/terminology.md), one panel every
two weeks going back from the fixture's own date, values drawn around normal ranges with a fixed seed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cds_service.cards.catalogue import load_catalogue
from cds_service.config import Settings
from cds_service.protocol import ServiceDefinition
from cds_service.rules import REGISTRY
from cds_service.tools.hook_request import build_request

# The hook instance is a placeholder the load generator replaces with a fresh UUID per request.
HOOK_INSTANCE = "00000000-0000-4000-8000-HOOKINSTANCE"
SERVICE_ID = "nxp2-myositis"
LARGE_OBSERVATIONS = 500
FIXTURE_NOW = datetime(2026, 11, 17, 8, 30)  # a week before the fixtures' reference date

LAB = "laboratory"
VITAL = "vital-signs"
# (LOINC, display, UCUM unit, category, low, high, decimals): one panel of routine results.
PANEL = (
    ("2157-6", "Creatine kinase [Enzymatic activity/volume] in Serum or Plasma", "U/L", LAB, 30, 200, 0),
    ("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L", LAB, 10, 40, 0),
    ("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L", LAB, 7, 45, 0),
    ("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ng/mL", LAB, 20, 250, 0),
    ("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", LAB, 150, 400, 0),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", LAB, 12, 16, 1),
    ("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", LAB, 4, 11, 1),
    ("1988-5", "C reactive protein [Mass/volume] in Serum or Plasma", "mg/L", LAB, 0.5, 8, 1),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", LAB, 0.5, 1.1, 2),
    ("8310-5", "Body temperature", "Cel", VITAL, 36.2, 37.4, 1),
)


def service_definition() -> ServiceDefinition:
    """Return the discovery entry of the service, from the catalogue (its prefetch templates)."""
    catalogue = load_catalogue(Settings().catalogue_dir, REGISTRY)
    return next(d for d in catalogue.service_definitions() if d.id == SERVICE_ID)


def resources(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the resources of a Bundle's entries."""
    return [entry["resource"] for entry in bundle.get("entry", []) if "resource" in entry]


def _observation(patient_id: str, n: int, row: tuple[Any, ...], when: datetime, rng: random.Random) -> dict[str, Any]:
    code, display, unit, category, low, high, decimals = row
    spread = high - low
    value = round(rng.uniform(low - spread * 0.15, high + spread * 0.15), decimals)
    flag = "L" if value < low else "H" if value > high else "N"
    return {
        "resourceType": "Observation",
        "id": f"{patient_id}-lab-{n}"[:64],
        "status": "final",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category,
        }]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": when.strftime("%Y-%m-%dT%H:%M:00Z"),
        "issued": (when + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:00Z"),
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
        "interpretation": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": flag,
        }]}],
        "referenceRange": [{
            "low": {"value": low, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
            "high": {"value": high, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
        }],
    }


def padded(resources: list[dict[str, Any]], total: int = LARGE_OBSERVATIONS, seed: int = 8) -> list[dict[str, Any]]:
    """Return the resources with routine results added until the patient has `total` Observations."""
    patient_id = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    have = sum(r["resourceType"] == "Observation" for r in resources)
    rng = random.Random(f"{seed}-{patient_id}")  # noqa: S311  (test data, repeatable)
    extra: list[dict[str, Any]] = []
    visit = 0
    while have + len(extra) < total:
        when = FIXTURE_NOW - timedelta(days=14 * visit, minutes=rng.randint(0, 120))
        for row in PANEL:
            if have + len(extra) == total:
                break
            extra.append(_observation(patient_id, len(extra), row, when, rng))
        visit += 1
    return resources + extra


def load_requests(fixtures: Path, large_every: int = 21) -> tuple[list[bytes], list[bytes]]:
    """Return (small, large) request bodies: every fixture as is, and every `large_every`-th one padded."""
    definition = service_definition()
    bundles = [json.loads(p.read_text()) for p in sorted(fixtures.glob("*.json"))]

    def body(bundle: dict[str, Any]) -> bytes:
        request = build_request(bundle, definition, user_id="Practitioner/load-test", hook_instance=HOOK_INSTANCE)
        return json.dumps(request, separators=(",", ":")).encode()

    small = [body(b) for b in bundles]
    large = [body({**b, "entry": [{"resource": r} for r in padded(resources(b))]}) for b in bundles[::large_every]]
    return small, large
