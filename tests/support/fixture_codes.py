"""The codes the test Bundles use (terminology.md); every one is in a value set of cards/valuesets.

Concepts the tables leave out get the first code of their value set, so any concept can be written.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from cds_service.config import PROJECT_ROOT
from cds_service.facts.valuesets import ValueSets, load_valuesets


@cache
def valuesets() -> ValueSets:
    return load_valuesets(PROJECT_ROOT / "cards" / "valuesets")


SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
UCUM = "http://unitsofmeasure.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
# No LOINC code exists for anti-NXP2 (terminology.md 1a): a site's own lab code, found by the value set's text.
LOCAL_LAB = "http://example.org/fhir/CodeSystem/local-lab-codes"
LOCAL_CODE = "urn:nxp2-cds:local-code"  # the placeholder system of cards/valuesets (swallow study, CMAS, MMT8)
ANTI_NXP2_TEXT = "Anti-NXP2 (MJ) antibody"

Code = tuple[str, str, str]  # system, code, display

# Condition kind -> codings and the text the record shows (Problem.display).
CONDITIONS: dict[str, tuple[tuple[Code, ...], str]] = {
    "dm": (((SNOMED, "396230008", "Dermatomyositis"), (ICD10CM, "M33.12", "Other dermatomyositis with myopathy")),
           "Dermatomyositis"),
    "jdm": (((ICD10CM, "M33.02", "Juvenile dermatomyositis with myopathy"), (SNOMED, "396230008", "Dermatomyositis")),
            "Juvenile dermatomyositis"),
    "ild": (((SNOMED, "233703007", "Interstitial lung disease"),
             (ICD10CM, "J84.9", "Interstitial pulmonary disease, unspecified")), "Interstitial lung disease"),
    "malignancy": (((SNOMED, "363346000", "Malignant neoplastic disease"),), "Lung adenocarcinoma"),
    "dysphagia": (((SNOMED, "40739000", "Dysphagia"), (ICD10CM, "R13.10", "Dysphagia, unspecified")), "Dysphagia"),
    "dysphonia": (((SNOMED, "50219008", "Hoarseness"),), "Hoarseness"),
    "skin-ulcer": (((SNOMED, "46742003", "Skin ulcer"),), "Skin ulcer"),
    "oedema": (((SNOMED, "267038008", "Edema"),), "Edema"),
    "abdominal-pain": (((SNOMED, "21522001", "Abdominal pain"),), "Abdominal pain"),
    "gi-perforation": (((SNOMED, "51875005", "Gastrointestinal perforation"),), "Gastrointestinal perforation"),
    "gi-bleeding": (((SNOMED, "405729008", "Hematochezia"),), "Hematochezia"),
}
# Test concept -> coding and the text of the Procedure.
PROCEDURES: dict[str, tuple[Code, str]] = {
    "ct-chest": ((SNOMED, "169069000", "CT of chest"), "CT chest"),
    "ct-abdomen-pelvis": ((SNOMED, "1148701004", "CT of abdomen and pelvis with IV contrast"),
                          "CT abdomen and pelvis with contrast"),
    "pet-ct": ((CPT, "78815", "PET with concurrently acquired CT, skull base to mid-thigh"), "FDG PET-CT"),
    "pft": ((SNOMED, "23426006", "Measurement of respiratory function"), "Pulmonary function tests with DLCO"),
    # No swallow-study code is confirmed; the value set holds a placeholder local code that sites replace.
    "swallow-study": ((LOCAL_CODE, "swallow-study", "Swallow study"), "Videofluoroscopic swallow study"),
    "ecg": ((SNOMED, "29303009", "Electrocardiographic procedure"), "Electrocardiographic procedure"),
    "echocardiogram": ((SNOMED, "40701008", "Echocardiography"), "Echocardiography"),
}
# Numeric concept -> coding, text, canonical UCUM unit, Observation category.
LABS: dict[str, tuple[Code, str, str, str]] = {
    "ferritin": ((LOINC, "2276-4", "Ferritin [Mass/volume] in Serum or Plasma"), "", "ng/mL", "laboratory"),
    "platelets": ((LOINC, "777-3", "Platelets [#/volume] in Blood by Automated count"), "", "10*3/uL", "laboratory"),
    "ast": ((LOINC, "1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma"), "",
            "U/L", "laboratory"),
    "triglycerides": ((LOINC, "2571-8", "Triglyceride [Mass/volume] in Serum or Plasma"), "", "mg/dL", "laboratory"),
    "fibrinogen": ((LOINC, "3255-7", "Fibrinogen [Mass/volume] in Platelet poor plasma by Coagulation assay"), "",
                   "mg/dL", "laboratory"),
    "body-temperature": ((LOINC, "8310-5", "Body temperature"), "", "Cel", "vital-signs"),
    "troponin-i": ((LOINC, "89579-7", "Troponin I.cardiac [Mass/volume] in Serum or Plasma by High sensitivity method"),
                   "", "ng/L", "laboratory"),
    "troponin-t": ((LOINC, "67151-1", "Troponin T.cardiac [Mass/volume] in Serum or Plasma by High sensitivity method"),
                   "", "ng/L", "laboratory"),
    "cd4-cd8-ratio": ((LOINC, "54218-3",
                       "CD3+CD4+ (T4 helper) cells/CD3+CD8+ (T8 suppressor cells) cells [# Ratio] in Blood"),
                      "", "{ratio}", "laboratory"),
    "bmi": ((LOINC, "39156-5", "Body mass index (BMI) [Ratio]"), "BMI", "kg/m2", "vital-signs"),
    "cmas": ((LOCAL_CODE, "cmas", "Childhood Myositis Assessment Scale total score"), "", "{score}", "exam"),
    "mmt8": ((LOCAL_CODE, "mmt8", "Manual Muscle Testing 8 total score"), "", "{score}", "exam"),
}
ANTIBODY_VALUES: dict[str, tuple[dict[str, Any], tuple[str, str]]] = {
    "positive": ({"valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "10828004", "display": "Positive"}],
                                           "text": "Positive"}}, ("POS", "Positive")),
    "negative": ({"valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "260385009", "display": "Negative"}],
                                           "text": "Negative"}}, ("NEG", "Negative")),
    "equivocal": ({"valueString": "Equivocal"}, ("E", "Equivocal")),
    "unreadable": ({"valueString": "see report"}, ("", "")),  # no interpretation: the facts cannot read it
}


def _value_set_code(concept: str) -> tuple[Code, str]:
    """The first code of the concept's value set, and its title (for concepts the tables above leave out)."""
    file = valuesets().files[concept]
    first = file.codes[0]
    return (first.system, first.code, first.display or file.title), file.title


def condition_codes(kind: str) -> tuple[tuple[Code, ...], str]:
    if kind in CONDITIONS:
        return CONDITIONS[kind]
    code, title = _value_set_code(kind)
    return (code,), title


def procedure_code(concept: str) -> tuple[Code, str]:
    return PROCEDURES[concept] if concept in PROCEDURES else _value_set_code(concept)


def lab_code(concept: str) -> tuple[Code, str, str, str]:
    if concept in LABS:
        return LABS[concept]
    code, _ = _value_set_code(concept)
    return code, "", valuesets().files[concept].unit or "", "laboratory"
