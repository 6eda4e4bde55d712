"""The clinical scenarios behind the cards-a fixture Bundles, and the two things built from each.

One `Scenario` per file of `fhir_fixtures/`: `bundle()` writes the FHIR R4 collection Bundle (codes and
UCUM units of terminology.md and the GUIDE's value-set concepts), `facts()` the `PatientFacts` the facts
layer should make of it. The Bundles are committed data; `python -m tests.scenarios.cards_a_fixtures`
rewrites them, and a test checks that the committed files still match. Times are relative to NOW.

Coding notes: anti-NXP2 has no LOINC, so it is a lab-local code that the value set finds by its text
"Anti-NXP2 (MJ) antibody"; FDG PET-CT is CPT 78815 (no SNOMED CT code was confirmed; CPT codes are kept
unless a site drops licensed codes); the swallow study uses the value set's placeholder local code.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cds_service.facts.model import (
    AntibodyResult,
    Growth,
    LabResult,
    Onset,
    PatientFacts,
    Positivity,
    Problem,
    ResourceRef,
    TestDeclined,
    TestDone,
)

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fhir_fixtures"
MONTH_DAYS = 365 / 12

SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
UCUM = "http://unitsofmeasure.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
LOCAL_LAB = "https://lab.example.org/fhir/CodeSystem/local-tests"  # a site's own lab code (found by its text)
LOCAL_CODE = "urn:nxp2-cds:local-code"  # the placeholder system of cards/valuesets
XHTML = "http://www.w3.org/1999/xhtml"

Coding = tuple[str, str, str]  # system, code, display

CONDITION_CODES: dict[str, tuple[Coding, ...]] = {
    "dm": ((SNOMED, "396230008", "Dermatomyositis"), (ICD10CM, "M33.12", "Other dermatomyositis with myopathy")),
    "jdm": ((SNOMED, "396230008", "Dermatomyositis"),
            (ICD10CM, "M33.02", "Juvenile dermatomyositis with myopathy")),
    "ild": ((SNOMED, "233703007", "Interstitial lung disease"),
            (ICD10CM, "J84.9", "Interstitial pulmonary disease, unspecified")),
    "malignancy": ((SNOMED, "363346000", "Malignant neoplastic disease"),),
    "dysphagia": ((SNOMED, "40739000", "Dysphagia"), (ICD10CM, "R13.10", "Dysphagia, unspecified")),
    "dysphonia": ((SNOMED, "50219008", "Hoarseness"),),
    "skin-ulcer": ((SNOMED, "46742003", "Skin ulcer"),),
    "oedema": ((SNOMED, "267038008", "Edema"),),
}
CONDITION_TEXT = {
    "dm": "Dermatomyositis", "jdm": "Juvenile dermatomyositis", "ild": "Interstitial lung disease",
    "malignancy": "Lung adenocarcinoma", "dysphagia": "Dysphagia", "dysphonia": "Hoarseness",
    "skin-ulcer": "Skin ulcer", "oedema": "Oedema",
}
PROCEDURE_CODES: dict[str, tuple[Coding, str]] = {
    "ct-chest": ((SNOMED, "169069000", "CT of chest"), "CT chest"),
    "ct-abdomen-pelvis": ((SNOMED, "1148701004", "CT of abdomen and pelvis with IV contrast"),
                          "CT abdomen and pelvis with contrast"),
    "pet-ct": ((CPT, "78815", "PET with concurrently acquired CT, skull base to mid-thigh"), "FDG PET-CT"),
    "pft": ((SNOMED, "23426006", "Measurement of respiratory function"),
            "Pulmonary function tests with DLCO"),
    # No swallow-study code is confirmed; the value set holds a placeholder local code that sites replace.
    "swallow-study": ((LOCAL_CODE, "swallow-study", "Swallow study"), "Videofluoroscopic swallow study"),
}
ANTIBODY = {
    "positive": ({"valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "10828004", "display": "Positive"}],
                                           "text": "Positive"}}, ("POS", "Positive"), Positivity.POSITIVE),
    "negative": ({"valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "260385009", "display": "Negative"}],
                                           "text": "Negative"}}, ("NEG", "Negative"), Positivity.NEGATIVE),
    "equivocal": ({"valueString": "Equivocal"}, ("E", "Equivocal"), Positivity.EQUIVOCAL),
}


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def months_ago(months: float) -> datetime:
    """A whole number of days before NOW, `months` of 365/12 days back."""
    return days_ago(round(months * MONTH_DAYS))


@dataclass(frozen=True)
class Cond:
    concept: str
    onset: datetime | None
    status: str = "active"  # clinicalStatus code


@dataclass(frozen=True)
class Proc:
    concept: str
    when: datetime
    declined: bool = False


@dataclass(frozen=True)
class Bmi:
    value: float
    when: datetime
    low_for_age: bool  # expected: BMI-for-age z <= -2 under every growth reference (WHO, UK-WHO, CDC)


@dataclass(frozen=True)
class Score:
    concept: str  # "cmas" or "mmt8" (placeholder local codes of the value sets)
    value: float
    when: datetime


@dataclass(frozen=True)
class Scenario:
    stem: str
    label: str
    given: str
    sex: str
    onset_age: float
    onset: datetime
    myositis: str = "dm"  # "dm" or "jdm" coding
    antibody: str = "positive"
    conditions: tuple[Cond, ...] = ()
    procedures: tuple[Proc, ...] = ()
    bmis: tuple[Bmi, ...] = ()
    scores: tuple[Score, ...] = ()

    @property
    def birth_date(self) -> date:
        return (self.onset - timedelta(days=round(self.onset_age * 365.25))).date()

    @property
    def antibody_at(self) -> datetime:
        return min(self.onset + timedelta(days=21), NOW)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _codeable(codings: tuple[Coding, ...], text: str) -> dict[str, Any]:
    return {"coding": [{"system": s, "code": c, "display": d} for s, c, d in codings], "text": text}


def _condition(scenario: Scenario, rid: str, kind: str, onset: datetime | None, status: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": rid,
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": status}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                           "code": "confirmed"}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                  "code": "problem-list-item", "display": "Problem List Item"}]}],
        "code": _codeable(CONDITION_CODES[kind], CONDITION_TEXT[kind]),
        "subject": {"reference": f"Patient/{scenario.stem}"},
    }
    if onset is not None:
        resource["onsetDateTime"] = _iso(onset)
        resource["recordedDate"] = _iso(min(onset + timedelta(days=14), NOW))
    if status == "resolved":
        resource["abatementDateTime"] = _iso(min((onset or NOW) + timedelta(days=90), NOW))
    return resource


def _procedure(scenario: Scenario, rid: str, proc: Proc) -> dict[str, Any]:
    coding, text = PROCEDURE_CODES[proc.concept]
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": rid,
        "status": "not-done" if proc.declined else "completed",
        "code": _codeable((coding,), text),
        "subject": {"reference": f"Patient/{scenario.stem}"},
    }
    if proc.declined:
        resource["statusReason"] = {"text": "Patient declined"}
    # For a not-done Procedure this is when it was due and declined (R4 has no recorded date on Procedure).
    resource["performedDateTime"] = _iso(proc.when)
    return resource


def _antibody(scenario: Scenario) -> dict[str, Any]:
    value, (code, display), _ = ANTIBODY[scenario.antibody]
    return {
        "resourceType": "Observation",
        "id": "nxp2-1",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory", "display": "Laboratory"}]}],
        "code": {"coding": [{"system": LOCAL_LAB, "code": "NXP2-AB", "display": "Anti-NXP2 (MJ) antibody"}],
                 "text": "Anti-NXP2 (MJ) antibody"},
        "subject": {"reference": f"Patient/{scenario.stem}"},
        "effectiveDateTime": _iso(scenario.antibody_at),
        **value,
        "interpretation": [{"coding": [{"system": INTERPRETATION, "code": code, "display": display}]}],
        "method": {"text": "Line blot (EUROLINE myositis profile)"},
    }


def _bmi(scenario: Scenario, rid: str, bmi: Bmi) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "vital-signs", "display": "Vital Signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": "39156-5", "display": "Body mass index (BMI) [Ratio]"}],
                 "text": "BMI"},
        "subject": {"reference": f"Patient/{scenario.stem}"},
        "effectiveDateTime": _iso(bmi.when),
        "valueQuantity": {"value": bmi.value, "unit": "kg/m2", "system": UCUM, "code": "kg/m2"},
    }


SCORE_NAMES = {"cmas": "Childhood Myositis Assessment Scale total score", "mmt8": "Manual Muscle Testing 8 total score"}


def _score(scenario: Scenario, rid: str, score: Score) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "exam", "display": "Exam"}]}],
        "code": {"coding": [{"system": LOCAL_CODE, "code": score.concept, "display": SCORE_NAMES[score.concept]}],
                 "text": SCORE_NAMES[score.concept]},
        "subject": {"reference": f"Patient/{scenario.stem}"},
        "effectiveDateTime": _iso(score.when),
        "valueQuantity": {"value": score.value, "unit": "{score}", "system": UCUM, "code": "{score}"},
    }


def bundle(scenario: Scenario) -> dict[str, Any]:
    """The FHIR R4 collection Bundle of one scenario."""
    patient = {
        "resourceType": "Patient",
        "id": scenario.stem,
        "text": {"status": "generated", "div": f'<div xmlns="{XHTML}">{scenario.label}</div>'},
        "name": [{"given": [scenario.given], "family": "Test"}],
        "gender": scenario.sex,
        "birthDate": scenario.birth_date.isoformat(),
    }
    resources: list[dict[str, Any]] = [
        patient,
        _antibody(scenario),
        _condition(scenario, "myositis-1", scenario.myositis, scenario.onset, "active"),
    ]
    for n, cond in enumerate(scenario.conditions, start=1):
        resources.append(_condition(scenario, f"{cond.concept}-{n}", cond.concept, cond.onset, cond.status))
    for n, proc in enumerate(scenario.procedures, start=1):
        resources.append(_procedure(scenario, f"{proc.concept}-{n}", proc))
    for n, bmi in enumerate(scenario.bmis, start=1):
        resources.append(_bmi(scenario, f"bmi-{n}", bmi))
    for n, score in enumerate(scenario.scores, start=1):
        resources.append(_score(scenario, f"{score.concept}-{n}", score))
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def bmi_for_age_z(scenario: Scenario, bmi: Bmi, reference: str = "who") -> float:
    """The BMI-for-age z-score from the rcpchgrowth LMS tables (the library the facts layer uses)."""
    from rcpchgrowth.global_functions import sds_for_measurement

    age = (bmi.when.date() - scenario.birth_date).days / 365.25
    return float(sds_for_measurement(reference=reference, age=age, measurement_method="bmi",
                                     observation_value=bmi.value, sex=scenario.sex))


def facts(scenario: Scenario) -> PatientFacts:
    """The PatientFacts the facts layer should build from the scenario's Bundle (WHO z-scores)."""
    diagnosis = Problem("myositis", True, "active", scenario.onset, min(scenario.onset + timedelta(days=14), NOW),
                        ResourceRef("Condition", "myositis-1"), CONDITION_TEXT[scenario.myositis])
    problems = [diagnosis]
    for n, cond in enumerate(scenario.conditions, start=1):
        recorded = None if cond.onset is None else min(cond.onset + timedelta(days=14), NOW)
        problems.append(Problem(cond.concept, cond.status in ("active", "recurrence", "relapse"), cond.status,
                                cond.onset, recorded, ResourceRef("Condition", f"{cond.concept}-{n}"),
                                CONDITION_TEXT[cond.concept]))
    done = tuple(TestDone(p.concept, p.when, ResourceRef("Procedure", f"{p.concept}-{n}"))
                 for n, p in enumerate(scenario.procedures, start=1) if not p.declined)
    declined = tuple(TestDeclined(p.concept, p.when, "Patient declined", ResourceRef("Procedure", f"{p.concept}-{n}"))
                     for n, p in enumerate(scenario.procedures, start=1) if p.declined)
    growth = tuple(Growth(b.value, b.when, (ResourceRef("Observation", f"bmi-{n}"),),
                          z_score=bmi_for_age_z(scenario, b), reference="WHO 2006/2007")
                   for n, b in enumerate(scenario.bmis, start=1))
    return PatientFacts(
        patient_id=scenario.stem,
        birth_date=scenario.birth_date,
        sex=scenario.sex,
        antibodies=(AntibodyResult(ANTIBODY[scenario.antibody][2], scenario.antibody_at, "final",
                                   ResourceRef("Observation", "nxp2-1"), method="Line blot"),),
        problems=tuple(problems),
        tests_done=done,
        tests_declined=declined,
        onset=Onset(scenario.onset, "onsetDateTime", False, diagnosis.ref),
        growth=growth,
        labs=tuple(LabResult(sc.concept, sc.value, "{score}", sc.when, "final",
                             ResourceRef("Observation", f"{sc.concept}-{n}"))
                   for n, sc in enumerate(scenario.scores, start=1)),
    )


# --- the scenarios ------------------------------------------------------------------------------


def _ct_screen(months: float) -> tuple[Proc, Proc]:
    return Proc("ct-chest", months_ago(months)), Proc("ct-abdomen-pelvis", months_ago(months))


def _dm(stem: str, label: str, given: str, sex: str, onset_age: float, months: float, **kw: Any) -> Scenario:
    """Adult-coded (DM) or, with myositis="jdm", juvenile-coded myositis that began `months` ago."""
    return Scenario(stem=stem, label=label, given=given, sex=sex, onset_age=onset_age, onset=months_ago(months), **kw)


SCENARIOS: list[Scenario] = [
    # Card 1, cancer screening: window after onset, scan look-back, complete vs partial screen, exclusions.
    _dm("adult-nxp2-dm-onset-8-months-no-ct", "Adult-onset anti-NXP2 DM (age 52), onset 8 months ago, no CT or PET-CT",
        "Grace", "female", 52, 8),
    _dm("adult-nxp2-dm-onset-8-months-ct-done", "Adult-onset anti-NXP2 DM (age 52), onset 8 months ago, "
        "CT chest and abdomen-pelvis 6 months ago", "Helen", "female", 52, 8, procedures=_ct_screen(6)),
    _dm("adult-nxp2-dm-onset-35-months-no-ct", "Adult-onset anti-NXP2 DM (age 45), onset 35 months ago, no CT",
        "Omar", "male", 45, 35),
    _dm("adult-nxp2-dm-onset-37-months-no-ct", "Adult-onset anti-NXP2 DM (age 45), onset 37 months ago, no CT",
        "Peter", "male", 45, 37),
    _dm("adult-nxp2-dm-pet-ct-11-months-ago", "Adult-onset anti-NXP2 DM (age 48), onset 20 months ago, "
        "FDG PET-CT 11 months ago", "Irene", "female", 48, 20, procedures=(Proc("pet-ct", months_ago(11)),)),
    _dm("adult-nxp2-dm-pet-ct-13-months-ago", "Adult-onset anti-NXP2 DM (age 48), onset 20 months ago, "
        "FDG PET-CT 13 months ago", "Julia", "female", 48, 20, procedures=(Proc("pet-ct", months_ago(13)),)),
    _dm("adult-nxp2-dm-hrct-only-no-abdominal-ct", "Adult-onset anti-NXP2 DM (age 35), onset 8 months ago, "
        "chest HRCT only, no abdominal CT", "Karen", "female", 35, 8, procedures=(Proc("ct-chest", months_ago(5)),)),
    _dm("adult-nxp2-dm-active-cancer-no-ct", "Adult-onset anti-NXP2 DM (age 60), onset 8 months ago, "
        "active lung cancer", "Victor", "male", 60, 8, conditions=(Cond("malignancy", months_ago(6)),)),
    _dm("adult-nxp2-dm-resolved-cancer-no-ct", "Adult-onset anti-NXP2 DM (age 60), onset 8 months ago, "
        "cancer resolved 5 years ago, no CT", "Walter", "male", 60, 8,
        conditions=(Cond("malignancy", months_ago(66), status="resolved"),)),
    _dm("adult-nxp2-dm-screening-ct-declined", "Adult-onset anti-NXP2 DM (age 35), onset 8 months ago, "
        "screening CT declined last month", "Laura", "female", 35, 8,
        procedures=(Proc("ct-chest", months_ago(1), declined=True),)),
    _dm("nxp2-dm-onset-at-17-no-tests", "Anti-NXP2 myositis with onset at 17.5 (juvenile), 8 months ago, no tests",
        "Mia", "female", 17.5, 8, myositis="jdm"),
    _dm("nxp2-dm-onset-at-19-no-tests", "Anti-NXP2 myositis with onset at 18.5 (adult), 8 months ago, no tests",
        "Nina", "female", 18.5, 8),
    _dm("adult-nxp2-negative-dm-dysphagia-no-ct", "Dermatomyositis (age 52) with dysphagia, anti-NXP2 negative",
        "Olga", "female", 52, 8, antibody="negative", conditions=(Cond("dysphagia", months_ago(7)),)),
    _dm("adult-nxp2-equivocal-dm-dysphagia-no-ct", "Dermatomyositis (age 52) with dysphagia, anti-NXP2 equivocal",
        "Paula", "female", 52, 8, antibody="equivocal", conditions=(Cond("dysphagia", months_ago(7)),)),
    # Card 2, ILD baseline: older-onset escalation, HRCT lead-in before onset, juvenile arm.
    _dm("adult-nxp2-dm-onset-age-41-no-hrct", "Adult-onset anti-NXP2 DM at age 41, onset 8 months ago, no HRCT",
        "Rosa", "female", 41, 8),
    _dm("adult-nxp2-dm-onset-age-39-no-hrct", "Adult-onset anti-NXP2 DM at age 39, onset 8 months ago, no HRCT",
        "Sara", "female", 39, 8),
    _dm("adult-nxp2-dm-hrct-2-months-before-onset", "Adult-onset anti-NXP2 DM (age 35), onset 6 months ago, "
        "chest HRCT 2 months before onset", "Tina", "female", 35, 6, procedures=(Proc("ct-chest", months_ago(8)),)),
    _dm("adult-nxp2-dm-hrct-4-months-before-onset", "Adult-onset anti-NXP2 DM (age 35), onset 6 months ago, "
        "chest HRCT 4 months before onset", "Ursula", "female", 35, 6, procedures=(Proc("ct-chest", months_ago(10)),)),
    _dm("juvenile-nxp2-jdm-onset-8-months-no-pft", "Anti-NXP2 JDM (onset age 9), onset 8 months ago, no PFTs",
        "Ben", "male", 9, 8, myositis="jdm"),
    _dm("juvenile-nxp2-jdm-pft-since-onset", "Anti-NXP2 JDM (onset age 9), onset 8 months ago, PFTs 6 months ago",
        "Carl", "male", 9, 8, myositis="jdm", procedures=(Proc("pft", months_ago(6)),)),
    # Card 3, ILD monitoring: first-year and later PFT intervals, early-phase boundary, resolved, juvenile.
    _dm("adult-nxp2-dm-ild-8-months-pft-5-months-ago", "Anti-NXP2 DM (age 55) with ILD for 8 months, "
        "PFTs 5 months ago", "David", "male", 55, 10, conditions=(Cond("ild", months_ago(8)),),
        procedures=(Proc("ct-chest", months_ago(8)), Proc("pft", months_ago(5)))),
    _dm("adult-nxp2-dm-ild-8-months-pft-7-months-ago", "Anti-NXP2 DM (age 55) with ILD for 8 months, "
        "PFTs 7 months ago", "Emil", "male", 55, 10, conditions=(Cond("ild", months_ago(8)),),
        procedures=(Proc("ct-chest", months_ago(8)), Proc("pft", months_ago(7)))),
    _dm("adult-nxp2-dm-ild-11-months-pft-9-months-ago", "Anti-NXP2 DM (age 50) with ILD for 11 months, "
        "PFTs 9 months ago", "Frank", "male", 50, 14, conditions=(Cond("ild", months_ago(11)),),
        procedures=(Proc("ct-chest", months_ago(11)), Proc("pft", months_ago(9)))),
    _dm("adult-nxp2-dm-ild-13-months-pft-9-months-ago", "Anti-NXP2 DM (age 50) with ILD for 13 months, "
        "PFTs 9 months ago", "Georg", "male", 50, 14, conditions=(Cond("ild", months_ago(13)),),
        procedures=(Proc("ct-chest", months_ago(13)), Proc("pft", months_ago(9)))),
    _dm("adult-nxp2-dm-ild-3-years-pft-11-months-ago", "Anti-NXP2 DM (age 50) with ILD for 3 years, "
        "PFTs 11 months ago", "Hanna", "female", 50, 40, conditions=(Cond("ild", months_ago(36)),),
        procedures=(Proc("ct-chest", months_ago(36)), Proc("pft", months_ago(11)))),
    _dm("adult-nxp2-dm-ild-3-years-pft-13-months-ago", "Anti-NXP2 DM (age 50) with ILD for 3 years, "
        "PFTs 13 months ago", "Ida", "female", 50, 40, conditions=(Cond("ild", months_ago(36)),),
        procedures=(Proc("ct-chest", months_ago(36)), Proc("pft", months_ago(13)))),
    _dm("adult-nxp2-dm-ild-resolved-no-pft", "Anti-NXP2 DM (age 50) with resolved ILD, no PFTs",
        "Jana", "female", 50, 20, conditions=(Cond("ild", months_ago(18), status="resolved"),),
        procedures=(Proc("ct-chest", months_ago(18)),)),
    _dm("juvenile-nxp2-jdm-ild-no-pft", "Anti-NXP2 JDM (onset age 10) with ILD for 10 months, no PFTs",
        "Dan", "male", 10, 12, myositis="jdm", conditions=(Cond("ild", months_ago(10)),),
        procedures=(Proc("ct-chest", months_ago(10)),)),
    # Card 4, bulbar: current dysphagia or hoarseness, the swallow-assessment window, resolved.
    _dm("adult-nxp2-dm-dysphagia-no-swallow-study", "Anti-NXP2 DM (age 58) with dysphagia, no swallow study",
        "Kate", "female", 58, 8, conditions=(Cond("dysphagia", months_ago(7)),), procedures=_ct_screen(6)),
    _dm("adult-nxp2-dm-dysphagia-swallow-study-60-days-ago", "Anti-NXP2 DM (age 58) with dysphagia, "
        "swallow study 60 days ago", "Lena", "female", 58, 8, conditions=(Cond("dysphagia", months_ago(7)),),
        procedures=(*_ct_screen(6), Proc("swallow-study", days_ago(60)))),
    _dm("adult-nxp2-dm-dysphagia-swallow-study-120-days-ago", "Anti-NXP2 DM (age 58) with dysphagia, "
        "swallow study 120 days ago", "Maya", "female", 58, 8, conditions=(Cond("dysphagia", months_ago(7)),),
        procedures=(*_ct_screen(6), Proc("swallow-study", days_ago(120)))),
    _dm("adult-nxp2-dm-dysphagia-resolved", "Anti-NXP2 DM (age 58) with dysphagia that has resolved",
        "Nora", "female", 58, 8, conditions=(Cond("dysphagia", months_ago(7), status="resolved"),),
        procedures=_ct_screen(6)),
    _dm("jdm-nxp2-cmas-14-no-bulbar-symptoms", "Anti-NXP2 JDM, girl aged 8, CMAS 14 ten days ago, no bulbar symptoms",
        "Nele", "female", 7.5, 6, myositis="jdm", procedures=(Proc("pft", months_ago(5)),),
        scores=(Score("cmas", 14, days_ago(10)),)),
    _dm("jdm-nxp2-cmas-15-no-bulbar-symptoms", "Anti-NXP2 JDM, girl aged 8, CMAS 15 ten days ago, no bulbar symptoms",
        "Olivia", "female", 7.5, 6, myositis="jdm", procedures=(Proc("pft", months_ago(5)),),
        scores=(Score("cmas", 15, days_ago(10)),)),
    _dm("jdm-nxp2-cmas-10-80-days-ago", "Anti-NXP2 JDM, girl aged 8, CMAS 10 measured 80 days ago",
        "Pia", "female", 7.5, 6, myositis="jdm", procedures=(Proc("pft", months_ago(5)),),
        scores=(Score("cmas", 10, days_ago(80)),)),
    _dm("jdm-nxp2-cmas-10-100-days-ago", "Anti-NXP2 JDM, girl aged 8, CMAS 10 measured 100 days ago",
        "Rita", "female", 7.5, 6, myositis="jdm", procedures=(Proc("pft", months_ago(5)),),
        scores=(Score("cmas", 10, days_ago(100)),)),
    _dm("adult-nxp2-dm-mmt8-29", "Adult-onset anti-NXP2 DM (age 58), MMT8 29 (0-80 scale) two weeks ago",
        "Sven", "male", 58, 8, procedures=_ct_screen(6), scores=(Score("mmt8", 29, days_ago(14)),)),
    _dm("adult-nxp2-dm-mmt8-30", "Adult-onset anti-NXP2 DM (age 58), MMT8 30 (0-80 scale) two weeks ago",
        "Timo", "male", 58, 8, procedures=_ct_screen(6), scores=(Score("mmt8", 30, days_ago(14)),)),
    _dm("adult-nxp2-dm-hoarseness", "Anti-NXP2 DM (age 58) with hoarseness", "Olaf", "male", 58, 8,
        conditions=(Cond("dysphonia", months_ago(2)),), procedures=_ct_screen(6)),
    # Card 5, JDM GI risk: each feature, BMI-for-age z on both sides of -2, the growth window, age groups.
    _dm("jdm-nxp2-skin-ulcer-age-7", "Anti-NXP2 JDM, girl aged 7, with a skin ulcer", "Ella", "female", 6.5, 6,
        myositis="jdm", conditions=(Cond("skin-ulcer", months_ago(2)),), procedures=(Proc("pft", months_ago(5)),)),
    _dm("jdm-nxp2-oedema-age-5", "Anti-NXP2 JDM, boy aged 5, with oedema", "Finn", "male", 4.6, 5,
        myositis="jdm", conditions=(Cond("oedema", months_ago(1)),), procedures=(Proc("pft", months_ago(4)),)),
    _dm("jdm-nxp2-dysphagia-age-6", "Anti-NXP2 JDM, girl aged 6, with dysphagia", "Gina", "female", 5.5, 6,
        myositis="jdm", conditions=(Cond("dysphagia", months_ago(3)),), procedures=(Proc("pft", months_ago(5)),)),
    _dm("jdm-nxp2-bmi-12-5-z-below-minus-2", "Anti-NXP2 JDM, girl aged 8, BMI 12.5 (BMI-for-age z below -2)",
        "Hedda", "female", 7.5, 6, myositis="jdm", procedures=(Proc("pft", months_ago(5)),),
        bmis=(Bmi(12.5, days_ago(20), low_for_age=True),)),
    _dm("jdm-nxp2-bmi-14-z-above-minus-2", "Anti-NXP2 JDM, girl aged 8, BMI 14.0 (BMI-for-age z above -2)",
        "Iris", "female", 7.5, 6, myositis="jdm", procedures=(Proc("pft", months_ago(5)),),
        bmis=(Bmi(14.0, days_ago(20), low_for_age=False),)),
    _dm("jdm-nxp2-low-bmi-80-days-ago", "Anti-NXP2 JDM, girl aged 8, low BMI-for-age measured 80 days ago",
        "Jill", "female", 7.5, 6, myositis="jdm", procedures=(Proc("pft", months_ago(5)),),
        bmis=(Bmi(12.5, days_ago(80), low_for_age=True),)),
    _dm("jdm-nxp2-low-bmi-100-days-ago", "Anti-NXP2 JDM, girl aged 8, low BMI-for-age measured 100 days ago",
        "Kira", "female", 7.5, 6, myositis="jdm", procedures=(Proc("pft", months_ago(5)),),
        bmis=(Bmi(12.5, days_ago(100), low_for_age=True),)),
    _dm("jdm-onset-nxp2-now-19-skin-ulcer", "Anti-NXP2 JDM from age 10, now 19, with a skin ulcer",
        "Lisa", "female", 10, 108, myositis="jdm", conditions=(Cond("skin-ulcer", months_ago(2)),),
        procedures=(Proc("pft", months_ago(100)),)),
    _dm("adult-nxp2-dm-skin-ulcer", "Adult-onset anti-NXP2 DM (age 45) with a skin ulcer", "Mona", "female", 45, 8,
        conditions=(Cond("skin-ulcer", months_ago(2)),), procedures=_ct_screen(6)),
]


def write_all(folder: Path = FIXTURES) -> list[Path]:
    """Write every scenario's Bundle as `<stem>.json` (sorted keys, two-space indent)."""
    folder.mkdir(exist_ok=True)
    written = []
    for scenario in SCENARIOS:
        path = folder / f"{scenario.stem}.json"
        path.write_text(render(scenario), encoding="utf-8")
        written.append(path)
    return written


def render(scenario: Scenario) -> str:
    return json.dumps(bundle(scenario), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    for written in write_all():
        sys.stdout.write(f"{written.relative_to(ROOT)}\n")
