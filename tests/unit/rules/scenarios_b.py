"""Clinical stories for cards 6-10: each writes one FHIR R4 fixture Bundle and states which cards must fire.

Each story is told once and gives three things: the Bundle in `fhir_fixtures/<name>.json`, the expectation in
`tests/scenarios/cards_b.yaml` (written here by hand, per story), and the `PatientFacts` the facts layer should
build from that Bundle, so `test_scenarios_b.py` can check the expectations against the rules before the
facts layer lands. Regenerate the files after editing a story:

    .venv/bin/python -m tests.unit.rules.scenarios_b
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from cds_service.facts.model import (
    AntibodyResult,
    LabResult,
    Onset,
    PatientFacts,
    Positivity,
    Problem,
    ResourceRef,
    TestDone,
)
from tests.conftest import NOW

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "fhir_fixtures"
EXPECTATIONS = ROOT / "tests" / "scenarios" / "cards_b.yaml"

GI_ALARM = "nxp2-jdm-gi-alarm"
MAS = "nxp2-jdm-mas-pattern"
CARDIAC = "nxp2-jdm-cardiac-evaluation"
REFRACTORY = "nxp2-jdm-refractory-risk"
NO_DIAGNOSIS = "nxp2-positive-no-myositis-diagnosis"
CARDS = (GI_ALARM, MAS, CARDIAC, REFRACTORY, NO_DIAGNOSIS)

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
# No LOINC code exists for anti-NXP2 (terminology.md 1a): labs use local codes, matched on the text too.
LOCAL_LAB = "http://example.org/fhir/CodeSystem/local-lab-codes"
ANTI_NXP2_TEXT = "Anti-NXP2 (MJ) antibody"

# concept -> (LOINC, display, canonical UCUM unit, Observation category), codes from terminology.md.
LABS = {
    "ferritin": ("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ng/mL", "laboratory"),
    "platelets": ("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", "laboratory"),
    "ast": ("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L",
            "laboratory"),
    "triglycerides": ("2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "mg/dL", "laboratory"),
    "fibrinogen": ("3255-7", "Fibrinogen [Mass/volume] in Platelet poor plasma by Coagulation assay", "mg/dL",
                   "laboratory"),
    "body-temperature": ("8310-5", "Body temperature", "Cel", "vital-signs"),
    "troponin-i": ("89579-7", "Troponin I.cardiac [Mass/volume] in Serum or Plasma by High sensitivity method",
                   "ng/L", "laboratory"),
    "troponin-t": ("67151-1", "Troponin T.cardiac [Mass/volume] in Serum or Plasma by High sensitivity method",
                   "ng/L", "laboratory"),
    "cd4-cd8-ratio": ("54218-3", "CD3+CD4+ (T4 helper) cells/CD3+CD8+ (T8 suppressor cells) cells [# Ratio] in Blood",
                      "{ratio}", "laboratory"),
}
# concept -> SNOMED CT code and display (terminology.md 2 and verification.md 5b).
FINDINGS = {
    "abdominal-pain": ("21522001", "Abdominal pain"),
    "gi-perforation": ("51875005", "Gastrointestinal perforation"),
    "gi-bleeding": ("405729008", "Hematochezia"),
    "oedema": ("267038008", "Edema"),
    "skin-ulcer": ("46742003", "Skin ulcer"),
    "dysphagia": ("40739000", "Dysphagia"),
    "dysphonia": ("50219008", "Hoarseness"),
}
TESTS = {"ecg": ("29303009", "Electrocardiographic procedure"), "echocardiogram": ("40701008", "Echocardiography")}
CURRENT = ("active", "recurrence", "relapse")


def when(*, days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _words(code: str) -> str:
    return code.replace("-", " ").capitalize()


def coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


@dataclass
class Story:
    """One patient: the FHIR resources of the fixture and the facts the facts layer should build from them."""

    name: str
    description: str
    birth: date
    fires: dict[str, str]
    given: str = "Mei"
    gender: str = "female"
    resources: list[dict[str, Any]] = field(default_factory=list)
    facts: PatientFacts | None = None

    def __post_init__(self) -> None:
        assert len(self.name) <= 64, f"{self.name}: a FHIR id has at most 64 characters"
        self.facts = PatientFacts(patient_id=self.name, birth_date=self.birth, sex=self.gender)
        self._prefix = hashlib.sha1(self.name.encode()).hexdigest()[:10]  # an id prefix, not a secret
        self._count = 0

    @property
    def silent(self) -> list[str]:
        return [card for card in CARDS if card not in self.fires]

    def _id(self, kind: str) -> str:
        self._count += 1
        return f"{self._prefix}-{kind}-{self._count}"

    def _subject(self) -> dict[str, str]:
        return {"reference": f"Patient/{self.name}"}

    def _facts(self, **changes: Any) -> None:
        assert self.facts is not None
        self.facts = replace(self.facts, **changes)

    @property
    def f(self) -> PatientFacts:
        assert self.facts is not None
        return self.facts

    def expected_facts(self) -> PatientFacts:
        """The facts the facts layer should build; without a diagnosis, onset falls back to the first antibody."""
        facts = self.f
        dated = [a for a in facts.antibodies if a.effective is not None]
        if facts.onset is None and dated:
            first = min(dated, key=lambda a: a.effective or NOW)
            fallback = Onset(first.effective or NOW, "first anti-NXP2 result", approximate=True, ref=first.ref)
            facts = replace(facts, onset=fallback)
        return facts

    # --- resources --------------------------------------------------------------------------------------

    def antibody(self, result: str = "positive", *, days: float = 170, status: str = "final") -> Story:
        """An anti-NXP2 Observation: positive (SNOMED 10828004 + POS), negative (260385009 + NEG) or equivocal (E)."""
        rid = self._id("nxp2")
        resource: dict[str, Any] = {
            "resourceType": "Observation", "id": rid, "status": status,
            "category": [{"coding": [coding(OBSERVATION_CATEGORY, "laboratory", "Laboratory")]}],
            "code": {"coding": [coding(LOCAL_LAB, "NXP2", ANTI_NXP2_TEXT)], "text": ANTI_NXP2_TEXT},
            "subject": self._subject(), "effectiveDateTime": iso(when(days=days)),
        }
        interpretation = {"positive": ("POS", "Positive"), "negative": ("NEG", "Negative"),
                          "equivocal": ("E", "Equivocal")}[result]
        if result == "positive":
            resource["valueCodeableConcept"] = {"coding": [coding(SNOMED, "10828004", "Positive")], "text": "Positive"}
        elif result == "negative":
            resource["valueCodeableConcept"] = {"coding": [coding(SNOMED, "260385009", "Negative")], "text": "Negative"}
        else:
            resource["valueString"] = "Equivocal"
        resource["interpretation"] = [{"coding": [coding(INTERPRETATION, *interpretation)]}]
        self.resources.append(resource)
        if status != "entered-in-error":  # the facts layer drops entered-in-error results
            usable = status in ("final", "amended", "corrected")
            self._facts(antibodies=(*self.f.antibodies, AntibodyResult(
                Positivity(result), when(days=days), status, ResourceRef("Observation", rid), usable=usable)))
        return self

    def myositis(self, *, days: float = 180, juvenile: bool = True, status: str = "active") -> Story:
        """The myositis Condition with its onset: JDM (ICD-10-CM M33.02 + SNOMED 396230008) or adult DM."""
        codes = [coding(SNOMED, "396230008", "Dermatomyositis")]
        if juvenile:
            codes.insert(0, coding(ICD10CM, "M33.02", "Juvenile dermatomyositis with myopathy"))
        text = "Juvenile dermatomyositis" if juvenile else "Dermatomyositis"
        problem = self._condition("myositis", codes, text, days=days, status=status)
        self._facts(onset=Onset(when(days=days), "onsetDateTime", approximate=False, ref=problem.ref))
        return self

    def finding(
        self, concept: str, *, days: float = 1, status: str = "active", recorded_days: float | None = None,
        verification: str = "confirmed",
    ) -> Story:
        code, display = FINDINGS[concept]
        self._condition(concept, [coding(SNOMED, code, display)], display, days=days, status=status,
                        recorded_days=recorded_days, verification=verification)
        return self

    def _condition(
        self, concept: str, codes: list[dict[str, str]], text: str, *, days: float, status: str,
        recorded_days: float | None = None, verification: str = "confirmed",
    ) -> Problem:
        rid = self._id("condition")
        recorded = when(days=days if recorded_days is None else recorded_days)
        resource: dict[str, Any] = {
            "resourceType": "Condition", "id": rid,
            "verificationStatus": {"coding": [coding(VERIFICATION_STATUS, verification, _words(verification))]},
            "category": [{"coding": [coding(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")]}],
            "code": {"coding": codes, "text": text}, "subject": self._subject(),
            "onsetDateTime": iso(when(days=days)), "recordedDate": iso(recorded),
        }
        if verification != "entered-in-error":  # con-5: no clinicalStatus on an entered-in-error Condition
            resource["clinicalStatus"] = {"coding": [coding(CLINICAL_STATUS, status, _words(status))]}
        self.resources.append(resource)
        problem = Problem(concept, status in CURRENT, status, when(days=days), recorded,
                          ResourceRef("Condition", rid), display=text)
        if verification not in ("entered-in-error", "refuted"):
            self._facts(problems=(*self.f.problems, problem))
        return problem

    def finding_observation(self, concept: str, *, days: float = 1) -> Story:
        """A coded clinical finding recorded as an Observation (for example haematochezia seen on the ward)."""
        code, display = FINDINGS[concept]
        rid = self._id("finding")
        self.resources.append({
            "resourceType": "Observation", "id": rid, "status": "final",
            "category": [{"coding": [coding(OBSERVATION_CATEGORY, "exam", "Exam")]}],
            "code": {"coding": [coding(SNOMED, code, display)], "text": display}, "subject": self._subject(),
            "effectiveDateTime": iso(when(days=days)), "valueBoolean": True,
        })
        self._facts(problems=(*self.f.problems, Problem(concept, True, "active", when(days=days), None,
                                                        ResourceRef("Observation", rid), display=display)))
        return self

    def lab(
        self, concept: str, value: float, *, days: float = 0, hours: float = 0, high: float | None = None,
        unit: str | None = None,
    ) -> Story:
        """A numeric Observation; a `unit` other than the canonical one is one the facts layer cannot read."""
        loinc, display, canonical, category = LABS[concept]
        rid = self._id(concept)
        resource: dict[str, Any] = {
            "resourceType": "Observation", "id": rid, "status": "final",
            "category": [{"coding": [coding(OBSERVATION_CATEGORY, category, category.replace("-", " ").title())]}],
            "code": {"coding": [coding(LOINC, loinc, display)], "text": display}, "subject": self._subject(),
            "effectiveDateTime": iso(when(days=days, hours=hours)),
            "valueQuantity": quantity(value, unit or canonical),
        }
        if high is not None:
            resource["referenceRange"] = [{"high": quantity(high, canonical)}]
        self.resources.append(resource)
        known = unit is None
        self._facts(labs=(*self.f.labs, LabResult(
            concept, value if known else None, canonical, when(days=days, hours=hours), "final",
            ResourceRef("Observation", rid), usable=known, problem=None if known else f"unit {unit!r} not recognised",
            reference_high=high)))
        return self

    def test(self, concept: str, *, days: float) -> Story:
        code, display = TESTS[concept]
        rid = self._id(concept)
        self.resources.append({
            "resourceType": "Procedure", "id": rid, "status": "completed",
            "code": {"coding": [coding(SNOMED, code, display)], "text": display}, "subject": self._subject(),
            "performedDateTime": iso(when(days=days)),
        })
        self._facts(tests_done=(*self.f.tests_done, TestDone(concept, when(days=days), ResourceRef("Procedure", rid))))
        return self

    def work_up(self, *, days: float = 150) -> Story:
        """ECG and echocardiogram done after onset, so card 8 stays out of stories about other cards."""
        return self.test("ecg", days=days).test("echocardiogram", days=days)

    # --- output -----------------------------------------------------------------------------------------

    def bundle(self) -> dict[str, Any]:
        patient = {"resourceType": "Patient", "id": self.name, "name": [{"given": [self.given], "family": "Fixture"}],
                   "gender": self.gender, "birthDate": self.birth.isoformat()}
        entries = [patient, *self.resources]
        return {
            "resourceType": "Bundle", "id": self._prefix, "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, self.name + '/' + r['id'])}",
                       "resource": r} for r in entries],
        }


CHILD = date(2018, 5, 10)  # 8.5 years at NOW; JDM onset 180 days ago at 8.0 years
ADULT = date(1975, 2, 1)


def jdm(name: str, description: str, fires: dict[str, str], *, antibody: str = "positive", work_up: bool = True,
        onset_days: float = 180, birth: date = CHILD) -> Story:
    """A child with anti-NXP2 JDM (onset 180 days ago) whose ECG and echocardiogram are done, unless told otherwise."""
    story = Story(name, description, birth, fires).antibody(antibody, days=onset_days - 10).myositis(days=onset_days)
    return story.work_up(days=onset_days - 30) if work_up else story


def adult_dm(name: str, description: str, fires: dict[str, str]) -> Story:
    return Story(name, description, ADULT, fires, given="Li", gender="male").antibody().myositis(juvenile=False)


def mas_panel(story: Story, *, hours: float = 10, ferritin_unit: str | None = None, **values: float) -> Story:
    """Ferritin 900 with platelets 150 and fibrinogen 300 (two criteria met), AST 30 and triglycerides 100 (not)."""
    panel = {"ferritin": 900.0, "platelets": 150.0, "ast": 30.0, "triglycerides": 100.0, "fibrinogen": 300.0}
    for concept, value in (panel | values).items():
        story.lab(concept, value, hours=hours, unit=ferritin_unit if concept == "ferritin" else None)
    return story


CRITICAL, WARNING, INFO = "critical", "warning", "info"


def stories() -> list[Story]:
    s: list[Story] = []
    add: Callable[[Story], None] = s.append

    # Card 6: GI warning signs within 14 days.
    add(jdm("jdm-nxp2-abdominal-pain-3-days-ago",
            "A child with anti-NXP2 JDM has had abdominal pain recorded 3 days ago: the GI alarm is critical.",
            {GI_ALARM: CRITICAL}).finding("abdominal-pain", days=3))
    add(jdm("jdm-nxp2-abdominal-pain-14-days-ago",
            "Abdominal pain recorded exactly 14 days ago is on the last day of the window: the GI alarm fires.",
            {GI_ALARM: CRITICAL}).finding("abdominal-pain", days=14))
    add(jdm("jdm-nxp2-abdominal-pain-15-days-ago",
            "Abdominal pain recorded 15 days ago, still active, is outside the 14-day window: no GI alarm.",
            {}).finding("abdominal-pain", days=15))
    add(jdm("jdm-nxp2-abdominal-pain-since-3-weeks-recorded-today",
            "Abdominal pain that began 3 weeks ago, recorded as active today, is a current sign: the alarm fires.",
            {GI_ALARM: CRITICAL}).finding("abdominal-pain", days=21, recorded_days=0))
    add(jdm("jdm-nxp2-abdominal-pain-resolved-5-days-ago",
            "Abdominal pain 5 days ago, now recorded as resolved, still fires the alarm with a resolved note.",
            {GI_ALARM: CRITICAL}).finding("abdominal-pain", days=5, status="resolved"))
    add(jdm("jdm-nxp2-abdominal-pain-entered-in-error",
            "An abdominal pain Condition marked entered-in-error is ignored: no GI alarm.",
            {}).finding("abdominal-pain", days=2, verification="entered-in-error"))
    add(jdm("jdm-nxp2-haematochezia-observation-2-days-ago",
            "Haematochezia recorded as a coded finding Observation 2 days ago is GI bleeding: the alarm fires.",
            {GI_ALARM: CRITICAL}).finding_observation("gi-bleeding", days=2))
    add(jdm("jdm-nxp2-gi-perforation-today",
            "GI perforation recorded today in anti-NXP2 JDM: the alarm is critical.",
            {GI_ALARM: CRITICAL}).finding("gi-perforation", days=0))
    add(adult_dm("adult-onset-nxp2-dm-abdominal-pain-3-days-ago",
                 "An adult with anti-NXP2 dermatomyositis and abdominal pain 3 days ago: the JDM cards stay silent.",
                 {}).finding("abdominal-pain", days=3))
    add(jdm("juvenile-onset-nxp2-now-19-abdominal-pain-3-days-ago",
            "JDM began at 16 and the patient is now 19: the GI alarm is for children only and stays silent.",
            {}, birth=date(2007, 6, 1), onset_days=3 * 365).finding("abdominal-pain", days=3))
    add(jdm("jdm-nxp2-negative-abdominal-pain-3-days-ago",
            "A child with JDM whose anti-NXP2 result is negative, with abdominal pain: no anti-NXP2 card fires.",
            {}, antibody="negative").finding("abdominal-pain", days=3))
    add(jdm("jdm-nxp2-equivocal-abdominal-pain-3-days-ago",
            "A child with JDM and an equivocal anti-NXP2 result, with abdominal pain: cards 6-9 need a positive.",
            {}, antibody="equivocal").finding("abdominal-pain", days=3))
    add(Story("child-nxp2-positive-no-myositis-diagnosis-abdominal-pain",
              "A child with a positive anti-NXP2 and abdominal pain but no myositis diagnosis: only card 10 fires.",
              CHILD, {NO_DIAGNOSIS: INFO}).antibody(days=30).finding("abdominal-pain", days=2))

    # Card 7: the MAS laboratory pattern within 72 h, critical with fever.
    add(mas_panel(jdm("jdm-nxp2-mas-pattern-with-fever",
                      "Ferritin 900, platelets 150 and fibrinogen 300 within 72 h with fever 38.6: MAS card critical.",
                      {MAS: CRITICAL})).lab("body-temperature", 38.6, hours=6))
    add(mas_panel(jdm("jdm-nxp2-mas-pattern-without-temperature",
                      "The MAS laboratory pattern with no temperature recorded: the MAS card is a warning.",
                      {MAS: WARNING})))
    add(mas_panel(jdm("jdm-nxp2-mas-pattern-temperature-38-0",
                      "The MAS pattern with a temperature of exactly 38.0 C in the window: critical.",
                      {MAS: CRITICAL})).lab("body-temperature", 38.0, hours=4))
    add(mas_panel(jdm("jdm-nxp2-mas-pattern-temperature-37-9",
                      "The MAS pattern with a highest temperature of 37.9 C: a warning with an afebrile note.",
                      {MAS: WARNING})).lab("body-temperature", 37.9, hours=4))
    add(mas_panel(jdm("jdm-nxp2-mas-pattern-fever-4-days-ago",
                      "The MAS pattern with fever only 4 days ago, outside the 72 h window: a warning.",
                      {MAS: WARNING})).lab("body-temperature", 39.0, days=4))
    add(mas_panel(jdm("jdm-nxp2-mas-ferritin-684",
                      "Ferritin exactly 684 ng/mL is not above the published threshold: no MAS card.", {}),
                  ferritin=684))
    add(mas_panel(jdm("jdm-nxp2-mas-ferritin-685",
                      "Ferritin 685 ng/mL with two other criteria: the MAS card fires.", {MAS: WARNING}),
                  ferritin=685))
    add(mas_panel(jdm("jdm-nxp2-mas-platelets-181",
                      "Platelets 181 x10^9/L (at the threshold) with fibrinogen 300: two criteria, MAS card fires.",
                      {MAS: WARNING}), platelets=181))
    add(mas_panel(jdm("jdm-nxp2-mas-platelets-182",
                      "Platelets 182 x10^9/L leave only fibrinogen as a criterion: no MAS card.", {}), platelets=182))
    add(mas_panel(jdm("jdm-nxp2-mas-ast-48",
                      "AST exactly 48 U/L is not above the threshold; with platelets alone: no MAS card.", {}),
                  ast=48, fibrinogen=400))
    add(mas_panel(jdm("jdm-nxp2-mas-ast-49",
                      "AST 49 U/L with platelets 150: two criteria, the card fires and flags that AST decides.",
                      {MAS: WARNING}), ast=49, fibrinogen=400))
    add(mas_panel(jdm("jdm-nxp2-mas-triglycerides-156",
                      "Triglycerides exactly 156 mg/dL are not above the threshold; with platelets alone: no card.",
                      {}), triglycerides=156, fibrinogen=400))
    add(mas_panel(jdm("jdm-nxp2-mas-triglycerides-157",
                      "Triglycerides 157 mg/dL with platelets 150: two criteria, the MAS card fires.", {MAS: WARNING}),
                  triglycerides=157, fibrinogen=400))
    add(mas_panel(jdm("jdm-nxp2-mas-fibrinogen-360",
                      "Fibrinogen 360 mg/dL (at the threshold) with platelets 150: the MAS card fires.",
                      {MAS: WARNING}),
                  fibrinogen=360))
    add(mas_panel(jdm("jdm-nxp2-mas-fibrinogen-361",
                      "Fibrinogen 361 mg/dL leaves only platelets as a criterion: no MAS card.", {}), fibrinogen=361))
    add(mas_panel(jdm("jdm-nxp2-mas-labs-72-hours-old",
                      "The whole MAS panel taken exactly 72 h ago is still in the window: the card fires.",
                      {MAS: WARNING}), hours=72))
    add(mas_panel(jdm("jdm-nxp2-mas-labs-73-hours-old",
                      "The whole MAS panel taken 73 h ago is stale: no MAS card.", {}), hours=73))
    add(mas_panel(jdm("jdm-nxp2-mas-ferritin-unknown-unit",
                      "Ferritin reported in an unknown unit cannot be used: no MAS card is built on it.", {}),
                  ferritin_unit="[IU]/mL")
        .lab("body-temperature", 38.5, hours=2))
    add(mas_panel(adult_dm("adult-onset-nxp2-dm-mas-pattern-with-fever",
                           "An adult with anti-NXP2 DM and the MAS pattern with fever: out of the card's evidence.",
                           {}).work_up()).lab("body-temperature", 39.0, hours=2))

    # Card 8: cardiac work-up since onset; troponin I above its reference range within 30 days.
    add(jdm("jdm-nxp2-no-ecg-or-echo-since-onset",
            "A child with anti-NXP2 JDM and no ECG or echocardiogram since onset: cardiac info card.",
            {CARDIAC: INFO}, work_up=False))
    add(jdm("jdm-nxp2-ecg-and-echo-since-onset",
            "ECG and echocardiogram done after onset and no troponin I: no cardiac card.", {}))
    add(jdm("jdm-nxp2-ecg-before-onset-only",
            "The only ECG was done before myositis onset: the cardiac info card fires.",
            {CARDIAC: INFO}, work_up=False).test("ecg", days=200))
    add(jdm("jdm-nxp2-troponin-i-raised-30-days-ago",
            "Troponin I 60 ng/L (reference up to 34) exactly 30 days ago after a full work-up: cardiac warning.",
            {CARDIAC: WARNING}).lab("troponin-i", 60, days=30, high=34))
    add(jdm("jdm-nxp2-troponin-i-raised-31-days-ago",
            "Troponin I raised 31 days ago, outside the 30-day window, after a full work-up: no cardiac card.",
            {}).lab("troponin-i", 60, days=31, high=34))
    add(jdm("jdm-nxp2-troponin-i-at-upper-reference-limit",
            "Troponin I equal to its upper reference limit is not raised: no cardiac card.",
            {}).lab("troponin-i", 34, days=3, high=34))
    add(jdm("jdm-nxp2-troponin-t-raised-only",
            "Only troponin T is raised (skeletal muscle can raise it): no cardiac card.",
            {}).lab("troponin-t", 120, days=3, high=14))
    add(Story("adult-onset-nxp2-dm-no-ecg",
              "An adult with anti-NXP2 DM and no ECG: the JDM cardiac card stays silent.", ADULT, {},
              given="Li", gender="male").antibody().myositis(juvenile=False))

    # Card 9: two of six S3 features within 24 months of onset.
    add(jdm("jdm-nxp2-oedema-and-skin-ulcer",
            "Current oedema and skin ulcer 6 months after JDM onset: refractory-risk info card.",
            {REFRACTORY: INFO}).finding("oedema", days=30).finding("skin-ulcer", days=20))
    add(jdm("jdm-nxp2-oedema-only", "Current oedema alone is one feature: no refractory-risk card.",
            {}).finding("oedema", days=30))
    add(jdm("jdm-nxp2-oedema-and-resolved-skin-ulcer",
            "Current oedema and a resolved skin ulcer count as one feature: no card.",
            {}).finding("oedema", days=30).finding("skin-ulcer", days=100, status="resolved"))
    add(jdm("jdm-nxp2-oedema-ferritin-200", "Oedema with ferritin exactly 200 ng/mL: one feature, no card.",
            {}).finding("oedema", days=30).lab("ferritin", 200, days=20))
    add(jdm("jdm-nxp2-oedema-ferritin-201", "Oedema with ferritin 201 ng/mL: two features, the card fires.",
            {REFRACTORY: INFO}).finding("oedema", days=30).lab("ferritin", 201, days=20))
    add(jdm("jdm-nxp2-oedema-cd4-cd8-1-40", "Oedema with a CD4/CD8 ratio of exactly 1.40: one feature, no card.",
            {}).finding("oedema", days=30).lab("cd4-cd8-ratio", 1.40, days=20))
    add(jdm("jdm-nxp2-oedema-cd4-cd8-1-39", "Oedema with a CD4/CD8 ratio of 1.39: two features, the card fires.",
            {REFRACTORY: INFO}).finding("oedema", days=30).lab("cd4-cd8-ratio", 1.39, days=20))
    add(jdm("jdm-nxp2-oedema-and-hoarseness", "Oedema with hoarseness (a bulbar sign): two features, the card fires.",
            {REFRACTORY: INFO}).finding("oedema", days=30).finding("dysphonia", days=10))
    add(jdm("jdm-nxp2-oedema-ferritin-179-days-ago",
            "Oedema with ferritin 350 ng/mL taken 179 days ago, inside the 180-day window: the card fires.",
            {REFRACTORY: INFO}).finding("oedema", days=30).lab("ferritin", 350, days=179))
    add(jdm("jdm-nxp2-oedema-ferritin-181-days-ago",
            "Oedema with ferritin 350 ng/mL taken 181 days ago, outside the 180-day window: no card.",
            {}).finding("oedema", days=30).lab("ferritin", 350, days=181))
    add(jdm("jdm-nxp2-onset-23-months-oedema-and-skin-ulcer",
            "Oedema and skin ulcer 23 months after onset, inside the 24-month window: the card fires.",
            {REFRACTORY: INFO}, onset_days=700).finding("oedema", days=30).finding("skin-ulcer", days=20))
    add(jdm("jdm-nxp2-onset-25-months-oedema-and-skin-ulcer",
            "Oedema and skin ulcer 25 months after onset, outside the 24-month window: no card.",
            {}, onset_days=761).finding("oedema", days=30).finding("skin-ulcer", days=20))

    # Card 10: positive or equivocal anti-NXP2 with no myositis diagnosis at all.
    add(Story("nxp2-positive-no-myositis-diagnosis",
              "An adult with a positive anti-NXP2 result and no myositis Condition: card 10 fires.",
              ADULT, {NO_DIAGNOSIS: INFO}, given="Ana").antibody(days=40))
    add(Story("nxp2-equivocal-no-myositis-diagnosis",
              "An equivocal anti-NXP2 result and no myositis Condition: card 10 fires, the only card it can raise.",
              ADULT, {NO_DIAGNOSIS: INFO}, given="Ana").antibody("equivocal", days=40))
    add(Story("nxp2-negative-no-myositis-diagnosis",
              "A negative anti-NXP2 result and no myositis Condition: no card.", ADULT, {}, given="Ana")
        .antibody("negative", days=40))
    add(Story("nxp2-positive-myositis-resolved",
              "A positive anti-NXP2 result with a resolved dermatomyositis Condition: a diagnosis exists, no card 10.",
              ADULT, {}, given="Ana").antibody(days=900).myositis(days=1000, juvenile=False, status="resolved"))
    add(Story("nxp2-positive-entered-in-error-no-myositis-diagnosis",
              "A positive anti-NXP2 Observation marked entered-in-error and no diagnosis: no card.",
              ADULT, {}, given="Ana").antibody(days=40, status="entered-in-error"))
    return s


def expectations(all_stories: list[Story]) -> dict[str, Any]:
    return {
        "now": iso(NOW),
        "cards": list(CARDS),
        "scenarios": {
            story.name: {"description": story.description, "fires": dict(story.fires), "silent": story.silent}
            for story in all_stories
        },
    }


def rendered_files() -> dict[Path, str]:
    """Every file the stories produce, with its exact text."""
    all_stories = stories()
    files = {FIXTURES / f"{story.name}.json": json.dumps(story.bundle(), indent=2) + "\n" for story in all_stories}
    header = ("# Expected cards 6-10 for each fhir_fixtures/<scenario>.json, at the fixed `now`.\n"
              "# Generated from tests/unit/rules/scenarios_b.py (edit the stories there, then run\n"
              "# `.venv/bin/python -m tests.unit.rules.scenarios_b`); test_scenarios_b.py checks both agree.\n")
    files[EXPECTATIONS] = header + yaml.safe_dump(expectations(all_stories), sort_keys=False, width=120,
                                                  allow_unicode=True)
    return files


def main() -> None:
    for path, text in rendered_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(rendered_files())} files")


if __name__ == "__main__":
    main()
