"""Every fixture of `fhir_fixtures/`: one patient record per clinical situation, written with the test builders.

What each fixture must fire is written by hand in `tests/golden/expectations.yaml`; how to add one is said at
the top of `tests/support/builders.py`. Rewrite the Bundles after editing a record:

    .venv/bin/python -m tests.scenarios.fixtures
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from cds_service.config import PROJECT_ROOT
from tests.support.builders import (
    ADULT_BIRTH,
    CHILD_BIRTH,
    NOW,
    PatientRecord,
    adult_dm_record,
    ago,
    jdm_child_record,
)

FIXTURES = PROJECT_ROOT / "fhir_fixtures"
LINE_BLOT = "Line blot (EUROLINE myositis profile)"


# --- cards 1-5: a patient per row, times in whole days of about `months` months before NOW ---------------


def months_ago(months: float) -> datetime:
    """The first whole day at least `months` months (of 365/12 days) before NOW, so that a card reading the
    time since it in whole months says `months`, as the fixture's name does ("onset 8 months": 8 months)."""
    return ago(days=math.ceil(months * 365 / 12))


@dataclass(frozen=True)
class Cond:
    kind: str
    onset: datetime
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
    concept: str  # "cmas" or "mmt8"
    value: float
    when: datetime


def _table(
    name: str, given: str, sex: str, onset_age: float, months: float, *, myositis: str = "dm",
    antibody: str = "positive", conditions: tuple[Cond, ...] = (), procedures: tuple[Proc, ...] = (),
    bmis: tuple[Bmi, ...] = (), scores: tuple[Score, ...] = (),
) -> PatientRecord:
    """Myositis (DM, or JDM coding) that began `months` ago at `onset_age`; the antibody 3 weeks after onset.

    Each Condition is recorded 2 weeks after its onset; a resolved one abated 90 days after it.
    """
    onset = months_ago(months)
    birth = (onset - timedelta(days=round(onset_age * 365.25))).date()
    record = PatientRecord(name, birth=birth, gender=sex, given=given)
    record.antibody(antibody, at=min(onset + timedelta(days=21), NOW), method=LINE_BLOT, rid="nxp2-1")
    record.condition(myositis, at=onset, recorded=min(onset + timedelta(days=14), NOW), rid="myositis-1")
    for n, cond in enumerate(conditions, start=1):
        abated = min(cond.onset + timedelta(days=90), NOW) if cond.status == "resolved" else None
        recorded = min(cond.onset + timedelta(days=14), NOW)
        record.condition(cond.kind, at=cond.onset, status=cond.status, recorded=recorded, abated=abated,
                         text="Oedema" if cond.kind == "oedema" else None, rid=f"{cond.kind}-{n}")
    for n, proc in enumerate(procedures, start=1):
        record.procedure(proc.concept, at=proc.when, declined=proc.declined, rid=f"{proc.concept}-{n}")
    for n, bmi in enumerate(bmis, start=1):
        record.bmi(bmi.value, at=bmi.when, low_for_age=bmi.low_for_age, rid=f"bmi-{n}")
    for n, score in enumerate(scores, start=1):
        record.lab(score.concept, score.value, at=score.when, rid=f"{score.concept}-{n}")
    return record


def days_ago(days: float) -> datetime:
    return ago(days=days)


def _ct_screen(months: float) -> tuple[Proc, Proc]:
    return Proc("ct-chest", months_ago(months)), Proc("ct-abdomen-pelvis", months_ago(months))


# --- cards 6-10 ------------------------------------------------------------------------------------------


def mas_panel(record: PatientRecord, *, hours: float = 10, ferritin_unit: str | None = None,
              **values: float) -> PatientRecord:
    """Ferritin 900 with platelets 150 and fibrinogen 300 (two criteria met), AST 30 and triglycerides 100 (not)."""
    panel = {"ferritin": 900.0, "platelets": 150.0, "ast": 30.0, "triglycerides": 100.0, "fibrinogen": 300.0}
    for concept, value in (panel | values).items():
        record.lab(concept, value, hours=hours, unit=ferritin_unit if concept == "ferritin" else None)
    return record


def fixtures() -> list[PatientRecord]:
    """Every fixture, in the order of tests/golden/expectations.yaml."""
    return [
    # Card 1, cancer screening: window after onset, scan look-back, complete vs partial screen, exclusions.
    _table("adult-nxp2-dm-onset-8-months-no-ct", "Grace", "female", 52, 8),
    _table("adult-nxp2-dm-onset-8-months-ct-done", "Helen", "female", 52, 8, procedures=_ct_screen(6)),
    _table("adult-nxp2-dm-onset-35-months-no-ct", "Omar", "male", 45, 35),
    _table("adult-nxp2-dm-onset-37-months-no-ct", "Peter", "male", 45, 37),
    _table("adult-nxp2-dm-pet-ct-11-months-ago", "Irene", "female", 48, 20,
        procedures=(Proc("pet-ct", months_ago(11)),)),
    _table("adult-nxp2-dm-pet-ct-13-months-ago", "Julia", "female", 48, 20,
        procedures=(Proc("pet-ct", months_ago(13)),)),
    _table("adult-nxp2-dm-hrct-only-no-abdominal-ct", "Karen", "female", 35, 8,
        procedures=(Proc("ct-chest", months_ago(5)),)),
    _table("adult-nxp2-dm-active-cancer-no-ct", "Victor", "male", 60, 8,
        conditions=(Cond("malignancy", months_ago(6)),)),
    _table("adult-nxp2-dm-resolved-cancer-no-ct", "Walter", "male", 60, 8,
        conditions=(Cond("malignancy", months_ago(66), status="resolved"),)),
    _table("adult-nxp2-dm-screening-ct-declined", "Laura", "female", 35, 8,
        procedures=(Proc("ct-chest", months_ago(1), declined=True),)),
    _table("nxp2-dm-onset-at-17-no-tests", "Mia", "female", 17.5, 8, myositis="jdm"),
    _table("nxp2-dm-onset-at-19-no-tests", "Nina", "female", 18.5, 8),
    _table("adult-nxp2-negative-dm-dysphagia-no-ct", "Olga", "female", 52, 8,
        antibody="negative", conditions=(Cond("dysphagia", months_ago(7)),)),
    _table("adult-nxp2-equivocal-dm-dysphagia-no-ct", "Paula", "female", 52, 8,
        antibody="equivocal", conditions=(Cond("dysphagia", months_ago(7)),)),
    # Card 2, ILD baseline: older-onset escalation, HRCT lead-in before onset, juvenile arm.
    _table("adult-nxp2-dm-onset-age-41-no-hrct", "Rosa", "female", 41, 8),
    _table("adult-nxp2-dm-onset-age-39-no-hrct", "Sara", "female", 39, 8),
    _table("adult-nxp2-dm-hrct-2-months-before-onset", "Tina", "female", 35, 6,
        procedures=(Proc("ct-chest", months_ago(8)),)),
    _table("adult-nxp2-dm-hrct-4-months-before-onset", "Ursula", "female", 35, 6,
        procedures=(Proc("ct-chest", months_ago(10)),)),
    _table("juvenile-nxp2-jdm-onset-8-months-no-pft", "Ben", "male", 9, 8, myositis="jdm"),
    _table("juvenile-nxp2-jdm-pft-since-onset", "Carl", "male", 9, 8,
        myositis="jdm", procedures=(Proc("pft", months_ago(6)),)),
    # Card 3, ILD monitoring: first-year and later PFT intervals, early-phase boundary, resolved, juvenile.
    _table("adult-nxp2-dm-ild-8-months-pft-5-months-ago", "David", "male", 55, 10,
        conditions=(Cond("ild", months_ago(8)),), procedures=(Proc("ct-chest", months_ago(8)), Proc("pft",
        months_ago(5)))),
    _table("adult-nxp2-dm-ild-8-months-pft-7-months-ago", "Emil", "male", 55, 10,
        conditions=(Cond("ild", months_ago(8)),), procedures=(Proc("ct-chest", months_ago(8)), Proc("pft",
        months_ago(7)))),
    _table("adult-nxp2-dm-ild-11-months-pft-9-months-ago", "Frank", "male", 50, 14,
        conditions=(Cond("ild", months_ago(11)),), procedures=(Proc("ct-chest", months_ago(11)), Proc("pft",
        months_ago(9)))),
    _table("adult-nxp2-dm-ild-13-months-pft-9-months-ago", "Georg", "male", 50, 14,
        conditions=(Cond("ild", months_ago(13)),), procedures=(Proc("ct-chest", months_ago(13)), Proc("pft",
        months_ago(9)))),
    _table("adult-nxp2-dm-ild-3-years-pft-11-months-ago", "Hanna", "female", 50, 40,
        conditions=(Cond("ild", months_ago(36)),), procedures=(Proc("ct-chest", months_ago(36)), Proc("pft",
        months_ago(11)))),
    _table("adult-nxp2-dm-ild-3-years-pft-13-months-ago", "Ida", "female", 50, 40,
        conditions=(Cond("ild", months_ago(36)),), procedures=(Proc("ct-chest", months_ago(36)), Proc("pft",
        months_ago(13)))),
    _table("adult-nxp2-dm-ild-resolved-no-pft", "Jana", "female", 50, 20,
        conditions=(Cond("ild", months_ago(18), status="resolved"),), procedures=(Proc("ct-chest", months_ago(18)),)),
    _table("juvenile-nxp2-jdm-ild-no-pft", "Dan", "male", 10, 12,
        myositis="jdm", conditions=(Cond("ild", months_ago(10)),), procedures=(Proc("ct-chest", months_ago(10)),)),
    # Card 4, bulbar: current dysphagia or hoarseness, the swallow-assessment window, resolved.
    _table("adult-nxp2-dm-dysphagia-no-swallow-study", "Kate", "female", 58, 8,
        conditions=(Cond("dysphagia", months_ago(7)),), procedures=_ct_screen(6)),
    _table("adult-nxp2-dm-dysphagia-swallow-study-60-days-ago", "Lena", "female", 58, 8,
        conditions=(Cond("dysphagia", months_ago(7)),), procedures=(*_ct_screen(6), Proc("swallow-study",
        days_ago(60)))),
    _table("adult-nxp2-dm-dysphagia-swallow-study-120-days-ago", "Maya", "female", 58, 8,
        conditions=(Cond("dysphagia", months_ago(7)),), procedures=(*_ct_screen(6), Proc("swallow-study",
        days_ago(120)))),
    _table("adult-nxp2-dm-dysphagia-resolved", "Nora", "female", 58, 8,
        conditions=(Cond("dysphagia", months_ago(7), status="resolved"),), procedures=_ct_screen(6)),
    _table("jdm-nxp2-cmas-14-no-bulbar-symptoms", "Nele", "female", 7.5, 6,
        myositis="jdm", procedures=(Proc("pft", months_ago(5)),), scores=(Score("cmas", 14, days_ago(10)),)),
    _table("jdm-nxp2-cmas-15-no-bulbar-symptoms", "Olivia", "female", 7.5, 6,
        myositis="jdm", procedures=(Proc("pft", months_ago(5)),), scores=(Score("cmas", 15, days_ago(10)),)),
    _table("jdm-nxp2-cmas-10-80-days-ago", "Pia", "female", 7.5, 6,
        myositis="jdm", procedures=(Proc("pft", months_ago(5)),), scores=(Score("cmas", 10, days_ago(80)),)),
    _table("jdm-nxp2-cmas-10-100-days-ago", "Rita", "female", 7.5, 6,
        myositis="jdm", procedures=(Proc("pft", months_ago(5)),), scores=(Score("cmas", 10, days_ago(100)),)),
    _table("adult-nxp2-dm-mmt8-29", "Sven", "male", 58, 8,
        procedures=_ct_screen(6), scores=(Score("mmt8", 29, days_ago(14)),)),
    _table("adult-nxp2-dm-mmt8-30", "Timo", "male", 58, 8,
        procedures=_ct_screen(6), scores=(Score("mmt8", 30, days_ago(14)),)),
    _table("adult-nxp2-dm-hoarseness", "Olaf", "male", 58, 8,
        conditions=(Cond("dysphonia", months_ago(2)),), procedures=_ct_screen(6)),
    # Card 5, JDM GI risk: each feature, BMI-for-age z on both sides of -2, the growth window, age groups.
    _table("jdm-nxp2-skin-ulcer-age-7", "Ella", "female", 6.5, 6,
        myositis="jdm", conditions=(Cond("skin-ulcer", months_ago(2)),), procedures=(Proc("pft", months_ago(5)),)),
    _table("jdm-nxp2-oedema-age-5", "Finn", "male", 4.6, 5,
        myositis="jdm", conditions=(Cond("oedema", months_ago(1)),), procedures=(Proc("pft", months_ago(4)),)),
    _table("jdm-nxp2-dysphagia-age-6", "Gina", "female", 5.5, 6,
        myositis="jdm", conditions=(Cond("dysphagia", months_ago(3)),), procedures=(Proc("pft", months_ago(5)),)),
    _table("jdm-nxp2-bmi-12-5-z-below-minus-2", "Hedda", "female", 7.5, 6,
        myositis="jdm", procedures=(Proc("pft", months_ago(5)),), bmis=(Bmi(12.5, days_ago(20), low_for_age=True),)),
    _table("jdm-nxp2-bmi-14-z-above-minus-2", "Iris", "female", 7.5, 6,
        myositis="jdm", procedures=(Proc("pft", months_ago(5)),), bmis=(Bmi(14.0, days_ago(20), low_for_age=False),)),
    _table("jdm-nxp2-low-bmi-80-days-ago", "Jill", "female", 7.5, 6,
        myositis="jdm", procedures=(Proc("pft", months_ago(5)),), bmis=(Bmi(12.5, days_ago(80), low_for_age=True),)),
    _table("jdm-nxp2-low-bmi-100-days-ago", "Kira", "female", 7.5, 6,
        myositis="jdm", procedures=(Proc("pft", months_ago(5)),), bmis=(Bmi(12.5, days_ago(100), low_for_age=True),)),
    _table("jdm-onset-nxp2-now-19-skin-ulcer", "Lisa", "female", 10.2, 108,
        myositis="jdm", conditions=(Cond("skin-ulcer", months_ago(2)),), procedures=(Proc("pft", months_ago(100)),)),
    _table("adult-nxp2-dm-skin-ulcer", "Mona", "female", 45, 8,
        conditions=(Cond("skin-ulcer", months_ago(2)),), procedures=_ct_screen(6)),

    # Card 6: GI warning signs within 14 days.
    jdm_child_record("jdm-nxp2-abdominal-pain-3-days-ago").condition("abdominal-pain", days=3),
    jdm_child_record("jdm-nxp2-abdominal-pain-14-days-ago").condition("abdominal-pain", days=14),
    jdm_child_record("jdm-nxp2-abdominal-pain-15-days-ago").condition("abdominal-pain", days=15),
    jdm_child_record("jdm-nxp2-abdominal-pain-since-3-weeks-recorded-today").condition("abdominal-pain", days=21,
        recorded=ago(days=0)),
    jdm_child_record("jdm-nxp2-abdominal-pain-resolved-5-days-ago").condition("abdominal-pain", days=5,
        status="resolved"),
    jdm_child_record("jdm-nxp2-abdominal-pain-entered-in-error").condition("abdominal-pain", days=2,
        verification="entered-in-error"),
    jdm_child_record("jdm-nxp2-haematochezia-observation-2-days-ago").finding_observation("gi-bleeding", days=2),
    jdm_child_record("jdm-nxp2-gi-perforation-today").condition("gi-perforation", days=0),
    adult_dm_record("adult-onset-nxp2-dm-abdominal-pain-3-days-ago").condition("abdominal-pain", days=3),
    jdm_child_record("juvenile-onset-nxp2-now-19-abdominal-pain-3-days-ago", birth=date(2007, 6, 1), onset_days=3 *
        365).condition("abdominal-pain", days=3),
    jdm_child_record("jdm-nxp2-negative-abdominal-pain-3-days-ago", antibody="negative").condition("abdominal-pain",
        days=3),
    jdm_child_record("jdm-nxp2-equivocal-abdominal-pain-3-days-ago",
        antibody="equivocal").condition("abdominal-pain", days=3),
    PatientRecord("child-nxp2-positive-no-myositis-diagnosis-abdominal-pain",
        birth=CHILD_BIRTH).antibody(days=30).condition("abdominal-pain", days=2),
    # Card 7: the MAS laboratory pattern within 72 h, critical with fever.
    mas_panel(jdm_child_record("jdm-nxp2-mas-pattern-with-fever")).lab("body-temperature", 38.6, hours=6),
    mas_panel(jdm_child_record("jdm-nxp2-mas-pattern-without-temperature")),
    mas_panel(jdm_child_record("jdm-nxp2-mas-pattern-temperature-38-0")).lab("body-temperature", 38.0, hours=4),
    mas_panel(jdm_child_record("jdm-nxp2-mas-pattern-temperature-37-9")).lab("body-temperature", 37.9, hours=4),
    mas_panel(jdm_child_record("jdm-nxp2-mas-pattern-fever-4-days-ago")).lab("body-temperature", 39.0, days=4),
    mas_panel(jdm_child_record("jdm-nxp2-mas-ferritin-684"), ferritin=684),
    mas_panel(jdm_child_record("jdm-nxp2-mas-ferritin-685"), ferritin=685),
    mas_panel(jdm_child_record("jdm-nxp2-mas-platelets-181"), platelets=181),
    mas_panel(jdm_child_record("jdm-nxp2-mas-platelets-182"), platelets=182),
    mas_panel(jdm_child_record("jdm-nxp2-mas-ast-48"), ast=48, fibrinogen=400),
    mas_panel(jdm_child_record("jdm-nxp2-mas-ast-49"), ast=49, fibrinogen=400),
    mas_panel(jdm_child_record("jdm-nxp2-mas-triglycerides-156"), triglycerides=156, fibrinogen=400),
    mas_panel(jdm_child_record("jdm-nxp2-mas-triglycerides-157"), triglycerides=157, fibrinogen=400),
    mas_panel(jdm_child_record("jdm-nxp2-mas-fibrinogen-360"), fibrinogen=360),
    mas_panel(jdm_child_record("jdm-nxp2-mas-fibrinogen-361"), fibrinogen=361),
    mas_panel(jdm_child_record("jdm-nxp2-mas-labs-72-hours-old"), hours=72),
    mas_panel(jdm_child_record("jdm-nxp2-mas-labs-73-hours-old"), hours=73),
    mas_panel(jdm_child_record("jdm-nxp2-mas-ferritin-unknown-unit"),
        ferritin_unit="[IU]/mL").lab("body-temperature", 38.5, hours=2),
    mas_panel(adult_dm_record("adult-onset-nxp2-dm-mas-pattern-with-fever").cardiac_work_up()).lab("body-temperature",
        39.0, hours=2),
    # Card 8: cardiac work-up since onset; troponin I above its reference range within 30 days.
    jdm_child_record("jdm-nxp2-no-ecg-or-echo-since-onset", work_up=False),
    jdm_child_record("jdm-nxp2-ecg-and-echo-since-onset"),
    jdm_child_record("jdm-nxp2-ecg-before-onset-only", work_up=False).procedure("ecg", days=200),
    jdm_child_record("jdm-nxp2-troponin-i-raised-30-days-ago").lab("troponin-i", 60, days=30, high=34),
    jdm_child_record("jdm-nxp2-troponin-i-raised-31-days-ago").lab("troponin-i", 60, days=31, high=34),
    jdm_child_record("jdm-nxp2-troponin-i-at-upper-reference-limit").lab("troponin-i", 34, days=3, high=34),
    jdm_child_record("jdm-nxp2-troponin-t-raised-only").lab("troponin-t", 120, days=3, high=14),
    PatientRecord("adult-onset-nxp2-dm-no-ecg", birth=ADULT_BIRTH, given="Li",
        gender="male").antibody().myositis(juvenile=False),
    # Card 9: two of six S3 features within 24 months of onset.
    jdm_child_record("jdm-nxp2-oedema-and-skin-ulcer").condition("oedema", days=30).condition("skin-ulcer", days=20),
    jdm_child_record("jdm-nxp2-oedema-only").condition("oedema", days=30),
    jdm_child_record("jdm-nxp2-oedema-and-resolved-skin-ulcer").condition("oedema", days=30).condition("skin-ulcer",
        days=100, status="resolved"),
    jdm_child_record("jdm-nxp2-oedema-ferritin-200").condition("oedema", days=30).lab("ferritin", 200, days=20),
    jdm_child_record("jdm-nxp2-oedema-ferritin-201").condition("oedema", days=30).lab("ferritin", 201, days=20),
    jdm_child_record("jdm-nxp2-oedema-cd4-cd8-1-40").condition("oedema", days=30).lab("cd4-cd8-ratio", 1.40, days=20),
    jdm_child_record("jdm-nxp2-oedema-cd4-cd8-1-39").condition("oedema", days=30).lab("cd4-cd8-ratio", 1.39, days=20),
    jdm_child_record("jdm-nxp2-oedema-and-hoarseness").condition("oedema", days=30).condition("dysphonia", days=10),
    jdm_child_record("jdm-nxp2-oedema-ferritin-179-days-ago").condition("oedema", days=30) .lab("ferritin", 350,
        days=179),
    jdm_child_record("jdm-nxp2-oedema-ferritin-181-days-ago").condition("oedema", days=30) .lab("ferritin", 350,
        days=181),
    jdm_child_record("jdm-nxp2-onset-23-months-oedema-and-skin-ulcer", onset_days=700).condition("oedema",
        days=30).condition("skin-ulcer", days=20),
    jdm_child_record("jdm-nxp2-onset-25-months-oedema-and-skin-ulcer", onset_days=761).condition("oedema",
        days=30).condition("skin-ulcer", days=20),
    # Card 10: positive or equivocal anti-NXP2 with no myositis diagnosis at all.
    PatientRecord("nxp2-positive-no-myositis-diagnosis", birth=ADULT_BIRTH, given="Ana").antibody(days=40),
    PatientRecord("nxp2-equivocal-no-myositis-diagnosis", birth=ADULT_BIRTH, given="Ana") .antibody("equivocal",
        days=40),
    PatientRecord("nxp2-negative-no-myositis-diagnosis", birth=ADULT_BIRTH, given="Ana").antibody("negative", days=40),
    PatientRecord("nxp2-positive-myositis-resolved", birth=ADULT_BIRTH,
        given="Ana").antibody(days=900).myositis(days=1000, juvenile=False, status="resolved"),
    PatientRecord("nxp2-positive-entered-in-error-no-myositis-diagnosis", birth=ADULT_BIRTH,
        given="Ana").antibody(days=40, status="entered-in-error"),
    # Issue 14: charts as real EHRs code them.
    # GI alarm and MAS pattern for a positive child with no myositis diagnosis (an adult without one: card 10 only).
    PatientRecord("child-nxp2-positive-no-diagnosis-gi-perforation-yesterday",
        birth=CHILD_BIRTH).antibody(days=30).condition("gi-perforation", days=1),
    PatientRecord("adult-nxp2-positive-no-diagnosis-gi-perforation-yesterday", birth=ADULT_BIRTH,
        given="Ana").antibody(days=30).condition("gi-perforation", days=1),
    mas_panel(PatientRecord("child-nxp2-positive-no-diagnosis-mas-pattern", birth=CHILD_BIRTH).antibody(days=30)),
    mas_panel(PatientRecord("adult-nxp2-positive-no-diagnosis-mas-pattern", birth=ADULT_BIRTH,
        given="Ana").antibody(days=30)),
    # Juvenile onset by code (ICD-10-CM M33.02, no onset date) at 25; other DM (M33.12) is adult onset.
    PatientRecord("jdm-icd-m33-02-no-onset-date-now-25-abdominal-pain", birth=date(2001, 6, 1)).antibody(
        days=400).condition("jdm-icd-only", days=None, recorded=ago(days=300)).cardiac_work_up(
        days=250).procedure("pft", days=200).condition("abdominal-pain", days=3),
    PatientRecord("dm-icd-m33-12-no-onset-date-now-25-abdominal-pain", birth=date(2001, 6, 1)).antibody(
        days=400).condition("dm-icd-only", days=None, recorded=ago(days=300)).procedure("pft", days=200).procedure(
        "ct-chest", days=200).procedure("ct-abdomen-pelvis", days=200).condition("abdominal-pain", days=3),
    # A local problem-list code recognised by its text; "suspected" is not a diagnosis.
    PatientRecord("child-nxp2-jdm-local-code-text-abdominal-pain", birth=CHILD_BIRTH).antibody(days=170).condition(
        "jdm-local-text", days=180).cardiac_work_up(days=150).procedure("pft", days=100).condition(
        "abdominal-pain", days=3),
    PatientRecord("adult-nxp2-dm-local-code-text-no-ct", birth=ADULT_BIRTH, given="Li",
        gender="male").antibody().condition("dm-local-text", days=180),
    PatientRecord("adult-nxp2-suspected-dm-local-code-text", birth=ADULT_BIRTH, given="Li",
        gender="male").antibody().condition("dm-suspected-local-text", days=180),
    # Active cancer by a specific SNOMED CT concept: no screening card; a past cancer (Z85.3) is no active cancer.
    adult_dm_record("adult-nxp2-dm-ovarian-carcinoma-snomed-no-ct").condition("ovarian-carcinoma", days=60),
    adult_dm_record("adult-nxp2-dm-breast-cancer-history-z85-no-ct").condition("cancer-history", days=2000,
        status="inactive"),
    # No onset date: the approximate onset is the earliest sign (a positive antibody in 2019), not the record date.
    PatientRecord("adult-nxp2-positive-since-2019-dm-recorded-last-month", birth=ADULT_BIRTH, given="Li",
        gender="male").antibody(at=datetime(2019, 3, 1, 9, 0, tzinfo=NOW.tzinfo)).condition("dm", days=None,
        recorded=ago(days=30)),
    PatientRecord("adult-nxp2-positive-last-month-dm-recorded-last-month", birth=ADULT_BIRTH, given="Li",
        gender="male").antibody(days=40).condition("dm", days=None, recorded=ago(days=30)),
    # Weak positives are equivocal: a line-blot intensity of 25 (26 is positive) or the words "weak positive".
    PatientRecord("adult-nxp2-line-blot-25-dm-no-ct", birth=ADULT_BIRTH, given="Li",
        gender="male").antibody(intensity=25).myositis(juvenile=False),
    PatientRecord("adult-nxp2-line-blot-26-dm-no-ct", birth=ADULT_BIRTH, given="Li",
        gender="male").antibody(intensity=26).myositis(juvenile=False),
    PatientRecord("adult-nxp2-weak-positive-text-dm-no-ct", birth=ADULT_BIRTH, given="Li",
        gender="male").antibody("weak-positive").myositis(juvenile=False),
    # A MAS-range panel older than 72 h that was never repeated (within the 30-day look-back), or repeated.
    mas_panel(jdm_child_record("jdm-nxp2-mas-pattern-4-days-ago-not-repeated"), hours=96),
    mas_panel(jdm_child_record("jdm-nxp2-mas-pattern-4-days-ago-repeated-normal"), hours=96).lab("ferritin", 300,
        hours=10),
    mas_panel(jdm_child_record("jdm-nxp2-mas-pattern-30-days-ago-not-repeated"), hours=30 * 24),
    mas_panel(jdm_child_record("jdm-nxp2-mas-pattern-31-days-ago-not-repeated"), hours=31 * 24),
    ]


def rendered_files() -> dict[Path, str]:
    """Every fixture file with its exact text (two-space indent, keys in the order written)."""
    return {FIXTURES / f"{r.name}.json": json.dumps(r.bundle(), indent=2) + "\n" for r in fixtures()}


def main() -> None:
    for path, text in rendered_files().items():
        path.write_text(text, encoding="utf-8")
        sys.stdout.write(f"{path.relative_to(PROJECT_ROOT)}\n")


if __name__ == "__main__":
    main()
