"""`PatientRecord`: one patient's FHIR R4 collection Bundle, written resource by resource (see builders.py)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cds_service.facts.model import ResourceRef
from tests.support.fixture_codes import (
    ANTI_NXP2_TEXT,
    ANTIBODY_VALUES,
    CLINICAL_STATUS,
    CONDITION_CATEGORY,
    INTERPRETATION,
    LOCAL_LAB,
    OBSERVATION_CATEGORY,
    UCUM,
    VERIFICATION_STATUS,
    Code,
    condition_codes,
    lab_code,
    procedure_code,
)

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # the suite's one fixed instant (re-exported by builders.py)


def ago(*, days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


def _coding(code: Code) -> dict[str, str]:
    system, value, display = code
    return {"system": system, "code": value, "display": display}


def _status(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": code.replace("-", " ").capitalize()}]}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


@dataclass(frozen=True)
class BmiExpectation:
    """A BMI written into a fixture and the side of BMI-for-age z = -2 it must fall on (every growth reference)."""

    value: float
    measured: datetime
    low_for_age: bool


class PatientRecord:
    """One patient's FHIR R4 collection Bundle, written resource by resource (each method returns the record).

    Times are `at=` a datetime, or `days=`/`hours=` before NOW; `days=None` leaves the date out. Resource ids
    are `<hash>-<kind>-<n>` unless `rid=` names one; `record.ref(rid)` is the reference a card shows.
    Concepts the code tables of `tests.support.fixture_codes` leave out get the first code of their value set.
    """

    def __init__(self, name: str, *, birth: date | None, gender: str = "female", given: str = "Mei") -> None:
        assert len(name) <= 64, f"{name}: a FHIR id has at most 64 characters"
        self.name, self.birth, self.gender, self.given = name, birth, gender, given
        self.resources: list[dict[str, Any]] = []
        self.bmis: list[BmiExpectation] = []
        self._prefix = hashlib.sha1(name.encode()).hexdigest()[:10]  # an id prefix, not a secret
        self._count = 0

    def _id(self, kind: str, rid: str | None) -> str:
        self._count += 1
        return rid or f"{self._prefix}-{kind}-{self._count}"

    def _subject(self) -> dict[str, str]:
        return {"reference": f"Patient/{self.name}"}

    def last_ref(self) -> ResourceRef:
        """The reference of the resource written last (what a card shows for it)."""
        resource = self.resources[-1]
        return ResourceRef(resource["resourceType"], resource["id"])

    # --- resources -------------------------------------------------------------------------------------------

    def antibody(
        self, result: str = "positive", *, at: datetime | None = None, days: float = 170, status: str = "final",
        method: str = "", intensity: float | None = None, rid: str | None = None,
    ) -> PatientRecord:
        """An anti-NXP2 Observation: positive (SNOMED 10828004 + POS), negative (260385009 + NEG) or equivocal (E);
        with `intensity`, a line-blot signal (valueQuantity) flagged by the interpretation."""
        value, interpretation = ANTIBODY_VALUES[result]
        if intensity is not None:
            value = {"valueQuantity": {"value": intensity, "unit": "{intensity}", "system": UCUM,
                                       "code": "{intensity}"}}
        resource: dict[str, Any] = {
            "resourceType": "Observation", "id": self._id("nxp2", rid), "status": status,
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory", "display": "Laboratory"}]}],
            "code": {"coding": [{"system": LOCAL_LAB, "code": "NXP2", "display": ANTI_NXP2_TEXT}],
                     "text": ANTI_NXP2_TEXT},
            "subject": self._subject(), "effectiveDateTime": _iso(at or ago(days=days)),
            **value,
        }
        if interpretation[0]:
            resource["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": interpretation[0],
                                                       "display": interpretation[1]}]}]
        if method:
            resource["method"] = {"text": method}
        self.resources.append(resource)
        return self

    def condition(
        self, kind: str, *, at: datetime | None = None, days: float | None = 1, status: str = "active",
        recorded: datetime | None = None, undated_record: bool = False, abated: datetime | None = None,
        verification: str = "confirmed", text: str | None = None, rid: str | None = None,
    ) -> PatientRecord:
        """A problem-list Condition of a kind (a concept, or `dm`/`jdm`) with onset `at`, recorded then unless
        `recorded` says otherwise; `days=None` leaves the onset out, `undated_record` the recorded date."""
        codes, shown = condition_codes(kind)
        onset = at or (None if days is None else ago(days=days))
        resource: dict[str, Any] = {
            "resourceType": "Condition", "id": self._id("condition", rid),
            "verificationStatus": _status(VERIFICATION_STATUS, verification),
            "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "problem-list-item",
                                      "display": "Problem List Item"}]}],
            "code": {"coding": [_coding(c) for c in codes], "text": text or shown}, "subject": self._subject(),
        }
        if onset is not None:
            resource["onsetDateTime"] = _iso(onset)
        if not undated_record and (recorded or onset) is not None:
            resource["recordedDate"] = _iso(recorded or onset)  # type: ignore[arg-type]
        if abated is not None:
            resource["abatementDateTime"] = _iso(abated)
        if verification != "entered-in-error":  # con-5: no clinicalStatus on an entered-in-error Condition
            resource["clinicalStatus"] = _status(CLINICAL_STATUS, status)
        self.resources.append(resource)
        return self

    def myositis(
        self, *, juvenile: bool = True, at: datetime | None = None, days: float | None = 180, status: str = "active",
        recorded: datetime | None = None, rid: str | None = None,
    ) -> PatientRecord:
        """The myositis Condition whose onset date is the myositis onset: JDM or adult DM coding."""
        return self.condition("jdm" if juvenile else "dm", at=at, days=days, status=status, recorded=recorded,
                              rid=rid)

    def finding_observation(self, kind: str, *, days: float = 1) -> PatientRecord:
        """A coded clinical finding recorded as an Observation (for example haematochezia seen on the ward)."""
        (code, *_), shown = condition_codes(kind)
        self.resources.append({
            "resourceType": "Observation", "id": self._id("finding", None), "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "exam", "display": "Exam"}]}],
            "code": {"coding": [_coding(code)], "text": shown}, "subject": self._subject(),
            "effectiveDateTime": _iso(ago(days=days)), "valueBoolean": True,
        })
        return self

    def lab(
        self, concept: str, value: float | str, *, at: datetime | None = None, days: float | None = 0,
        hours: float = 0, high: float | None = None, low: float | None = None, unit: str | None = None,
        status: str = "final", rid: str | None = None,
    ) -> PatientRecord:
        """A numeric Observation in the concept's canonical unit; another `unit` is one the facts cannot read,
        a text `value` one they cannot read as a number, `days=None` an undated one."""
        code, text, canonical, category = lab_code(concept)
        resource: dict[str, Any] = {
            "resourceType": "Observation", "id": self._id(concept, rid), "status": status,
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": category,
                                      "display": category.replace("-", " ").title()}]}],
            "code": {"coding": [_coding(code)], "text": text or code[2]}, "subject": self._subject(),
        }
        if at is not None or days is not None:
            resource["effectiveDateTime"] = _iso(at or ago(days=days or 0, hours=hours))
        if isinstance(value, str):
            resource["valueString"] = value
        else:
            resource["valueQuantity"] = _quantity(value, unit or canonical)
        if high is not None or low is not None:
            limits = {"low": low, "high": high}
            resource["referenceRange"] = [{k: _quantity(v, canonical) for k, v in limits.items() if v is not None}]
        self.resources.append(resource)
        return self

    def bmi(self, value: float, *, at: datetime, low_for_age: bool, rid: str | None = None) -> PatientRecord:
        """A BMI Observation, and whether its BMI-for-age z must be at or below -2 (checked for every reference)."""
        self.bmis.append(BmiExpectation(value, at, low_for_age))
        return self.lab("bmi", value, at=at, rid=rid)

    def procedure(
        self, concept: str, *, at: datetime | None = None, days: float | None = 0, declined: bool = False,
        reason: str = "Patient declined", rid: str | None = None,
    ) -> PatientRecord:
        """A completed Procedure, or (declined) a not-done one whose date is when it was due and declined;
        `days=None` leaves the date out."""
        code, text = procedure_code(concept)
        resource: dict[str, Any] = {
            "resourceType": "Procedure", "id": self._id(concept, rid),
            "status": "not-done" if declined else "completed",
            "code": {"coding": [_coding(code)], "text": text}, "subject": self._subject(),
        }
        if declined:
            resource["statusReason"] = {"text": reason}
        if at is not None or days is not None:
            resource["performedDateTime"] = _iso(at or ago(days=days or 0))
        self.resources.append(resource)
        return self

    def cardiac_work_up(self, *, days: float = 150) -> PatientRecord:
        """ECG and echocardiogram done, so the JDM cardiac card stays out of stories about other cards."""
        return self.procedure("ecg", days=days).procedure("echocardiogram", days=days)

    # --- output ----------------------------------------------------------------------------------------------

    def patient(self) -> dict[str, Any]:
        patient = {"resourceType": "Patient", "id": self.name, "name": [{"given": [self.given], "family": "Fixture"}],
                   "gender": self.gender}
        if self.birth is not None:
            patient["birthDate"] = self.birth.isoformat()
        return patient

    def bundle(self) -> dict[str, Any]:
        """The FHIR R4 collection Bundle: the Patient first, then the resources in the order written."""
        entries = [self.patient(), *self.resources]
        return {
            "resourceType": "Bundle", "id": self._prefix, "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, self.name + '/' + r['id'])}",
                       "resource": r} for r in entries],
        }
