"""Turn the fixture Bundles of fhir_fixtures/ into transaction Bundles for the demo FHIR server.

Used by `scripts/run_dev.py` (`make run`) and the browser tests. Three changes are made on the way in; the
committed fixtures stay as they are:

- Dates move with the clock. The fixtures describe each patient as seen at `FIXTURE_NOW`; the demo runs on
  the real clock, so every dateTime moves by (now - FIXTURE_NOW) and every date by the same number of
  calendar days. Right after loading, each patient looks to the service as it looks to the tests.
  Fixtures that sit exactly on a threshold (`...-72-hours-old`) cross it seconds later.
- Ids are made unique. Fixtures of different scenarios reuse resource ids (`Observation/nxp2-1`); in one
  server they would overwrite each other, so such an id gets the patient's hash appended.
- The Patient gets a generated narrative (`text.div`) holding a one-line clinical label derived from the
  file name, which the demo's patient list shows.

The fixtures hold at most one CK or ferritin result each, so one demo-only patient (`course_bundle`, not a
test scenario) adds a treated JDM course with monthly CK and ferritin, for the chart's trend plot.
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.support.builders import NOW

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT_ROOT / "fhir_fixtures"
FIXTURE_NOW = NOW  # the instant every fixture is written for (`now` of tests/golden/expectations.yaml)

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Keys whose string values are never dates, even when they look like one.
_NOT_DATES = frozenset({"id", "reference", "system", "code", "url", "fullUrl", "div"})

# File-name words shown in capitals or spelled out in the patient list.
_WORDS = {
    "jdm": "JDM", "nxp2": "anti-NXP2", "dm": "DM", "ild": "ILD", "ct": "CT", "hrct": "HRCT", "pft": "PFT",
    "pet": "PET", "mas": "MAS", "bmi": "BMI", "cmas": "CMAS", "mmt8": "MMT8", "ecg": "ECG", "ast": "AST",
    "cd4": "CD4", "ck": "CK", "cd8": "CD8", "gi": "GI", "i": "I", "t": "T", "minus": "minus",
}

_TIME_UNITS = frozenset({"hours", "days", "weeks", "months", "years"})


def label_for(stem: str) -> str:
    """Return a one-line clinical label from a fixture's file name (`jdm-nxp2-mas-ferritin-684`)."""
    tokens = stem.split("-")
    words: list[str] = []
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if token.isdigit() and words and words[-1].isdigit() and following not in _TIME_UNITS:
            words[-1] = f"{words[-1]}.{token}"  # `bmi-12-5` is 12.5 and `cd8-1-39` 1.39; `cmas-10-80-days` is not
            continue
        if token.isdigit() and words and words[-1].isdigit():
            words[-1] += ","  # `cmas-10-80-days-ago`: CMAS 10, 80 days ago
        words.append(_WORDS.get(token, token))
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def shift_dates(value: Any, delta: timedelta, days: int, key: str = "") -> Any:
    """Return a copy of a FHIR JSON value with dateTimes moved by `delta` and dates by `days` days."""
    if isinstance(value, dict):
        return {k: shift_dates(v, delta, days, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shift_dates(item, delta, days, key) for item in value]
    if isinstance(value, str) and key not in _NOT_DATES:
        if _DATE_TIME.match(value):
            moved = datetime.fromisoformat(value.replace("Z", "+00:00")) + delta
            return moved.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if _DATE.match(value):
            return (datetime.fromisoformat(value) + timedelta(days=days)).date().isoformat()
    return value


def clock_shift(now: datetime) -> tuple[timedelta, int]:
    """Return (delta for dateTimes, calendar days for dates) that move FIXTURE_NOW to `now`."""
    delta = timedelta(seconds=round((now - FIXTURE_NOW).total_seconds()))
    return delta, (now.astimezone(UTC).date() - FIXTURE_NOW.date()).days


def read_fixtures(folder: Path = FIXTURES) -> dict[str, dict[str, Any]]:
    """Return file stem -> collection Bundle for every fixture, sorted by name."""
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))}


def _resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle.get("entry", []) if isinstance(entry.get("resource"), dict)]


def _unique_id(resource_id: str, patient_id: str) -> str:
    suffix = hashlib.sha256(patient_id.encode()).hexdigest()[:10]
    return f"{resource_id[: 64 - len(suffix) - 1]}-{suffix}"


def transaction_bundles(
    fixtures: dict[str, dict[str, Any]], now: datetime | None = None
) -> list[dict[str, Any]]:
    """Return one transaction Bundle (PUT of every resource) per fixture, ready for the demo server."""
    delta, days = clock_shift(now) if now is not None else (timedelta(0), 0)
    seen = Counter(
        (r["resourceType"], r["id"]) for bundle in fixtures.values() for r in _resources(bundle)
    )
    bundles = []
    for stem, bundle in fixtures.items():
        resources = [copy.deepcopy(r) for r in _resources(bundle)]
        patient = next((r for r in resources if r["resourceType"] == "Patient"), None)
        if patient is None:
            raise ValueError(f"{stem}: the fixture has no Patient")
        patient["text"] = {
            "status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{html.escape(label_for(stem))}</div>',
        }
        for resource in resources:
            if resource is not patient and seen[(resource["resourceType"], resource["id"])] > 1:
                resource["id"] = _unique_id(resource["id"], patient["id"])
        bundles.append({
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": shift_dates(r, delta, days),
                 "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
                for r in resources
            ],
        })
    _check_unique(bundles)
    return bundles


COURSE_ID = "demo-jdm-nxp2-ck-ferritin-course"
# (days before FIXTURE_NOW, CK U/L, ferritin ng/mL): a JDM flare treated from day 300 on; abdominal pain
# since 2 days (so the GI alarm shows too).
_COURSE = [(300, 4200, 160), (270, 2900, 240), (240, 1650, 310), (210, 900, 260), (180, 520, 190),
           (150, 310, 140), (120, 240, 110), (90, 190, 95), (60, 210, 90), (30, 170, 85)]
_LOINC = {"ck": ("2157-6", "Creatine kinase [Enzymatic activity/volume] in Serum or Plasma", "U/L"),
          "ferritin": ("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ng/mL")}


def _when(days_before: int) -> str:
    return (FIXTURE_NOW - timedelta(days=days_before)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _lab(concept: str, number: int, days_before: int, value: float) -> dict[str, Any]:
    code, display, unit = _LOINC[concept]
    return {
        "resourceType": "Observation", "id": f"{COURSE_ID}-{concept}-{number}", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory", "display": "Laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{COURSE_ID}"}, "effectiveDateTime": _when(days_before),
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }


def course_bundle() -> dict[str, Any]:
    """Return the demo-only patient with a CK and ferritin course, as a collection Bundle like a fixture."""
    subject = {"reference": f"Patient/{COURSE_ID}"}
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": COURSE_ID, "name": [{"given": ["Lena"], "family": "Demo"}],
         "gender": "female", "birthDate": "2016-02-11"},
        {"resourceType": "Observation", "id": f"{COURSE_ID}-nxp2", "status": "final",
         "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                   "code": "laboratory"}]}],
         "code": {"text": "Anti-NXP2 (MJ) antibody"}, "subject": subject, "effectiveDateTime": _when(290),
         "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "10828004",
                                              "display": "Positive"}], "text": "Positive"}},
        {"resourceType": "Condition", "id": f"{COURSE_ID}-jdm",
         "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                        "code": "active"}]},
         "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                            "code": "confirmed"}]},
         "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M33.02",
                              "display": "Juvenile dermatomyositis with myopathy"}],
                  "text": "Juvenile dermatomyositis"},
         "subject": subject, "onsetDateTime": _when(320), "recordedDate": _when(300)},
        {"resourceType": "Condition", "id": f"{COURSE_ID}-abdominal-pain",
         "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                        "code": "active"}]},
         "code": {"coding": [{"system": "http://snomed.info/sct", "code": "21522001",
                              "display": "Abdominal pain"}], "text": "Abdominal pain"},
         "subject": subject, "onsetDateTime": _when(2), "recordedDate": _when(2)},
    ]
    for number, (days_before, ck, ferritin) in enumerate(_COURSE, start=1):
        resources += [_lab("ck", number, days_before, ck), _lab("ferritin", number, days_before, ferritin)]
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def demo_patients(folder: Path = FIXTURES) -> dict[str, dict[str, Any]]:
    """Return every fixture of `folder` plus the demo-only course patient: what `make run` loads."""
    return read_fixtures(folder) | {COURSE_ID: course_bundle()}


def _check_unique(bundles: Iterable[dict[str, Any]]) -> None:
    urls = Counter(e["request"]["url"] for bundle in bundles for e in bundle["entry"])
    doubled = [url for url, count in urls.items() if count > 1]
    if doubled:
        raise ValueError(f"resource ids still shared after renaming: {doubled[:5]}")
