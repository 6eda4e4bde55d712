"""Each candidate patient through the hook's own path, into worklist rows.

The resources of one patient become a collection Bundle, the Bundle a patient-view request exactly as
`nxp2-cds request` builds it, and the request goes through `hooks.evaluate.evaluate`: the same prefetch
resolution, facts, rules and rendering as a hook call, with the run's one clock. A resource type whose
lines for this patient could not all be read is left out of the prefetch, so the hook's own rule applies: a
required key missing is "could not be read", an optional one degrades the cards as it would in a call.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import ValidationError

from cds_service.facts.dates import decimal_age
from cds_service.facts.model import PatientFacts
from cds_service.hooks.errors import PrefetchUnavailable
from cds_service.hooks.evaluate import Services, concept_titles, evaluate, find_service, rule_context
from cds_service.protocol import HookRequest, ServiceDefinition
from cds_service.rules.registry import Datum
from cds_service.tools.hook_request import READ, SEARCH, BundleError, build_request
from cds_service.worklist.problems import Problems

DUE = "card due"
UNREADABLE = "data could not be read"
FIELDS = ("patient_id", "name", "age", "card_id", "indicator", "summary", "deciding_fact", "deciding_date",
          "status", "reason")


@dataclass(frozen=True)
class Row:
    """One patient and one card due (or one patient whose data could not be read: card fields empty)."""

    patient_id: str
    name: str
    age: str
    card_id: str
    indicator: str
    summary: str
    deciding_fact: str
    deciding_date: str
    status: str = DUE
    reason: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def template_types(definition: ServiceDefinition) -> dict[str, str]:
    """Prefetch key -> the resource type its template reads (Patient read or a search)."""
    types: dict[str, str] = {}
    for key, template in (definition.prefetch or {}).items():
        match = READ.match(template) or SEARCH.match(template)
        if match:
            types[key] = match.group(1)
    return types


def _name(patient: Mapping[str, Any] | None) -> str:
    names = patient.get("name") if patient else None
    if not isinstance(names, list):
        return ""
    for name in names:
        if not isinstance(name, dict):
            continue
        if isinstance(name.get("text"), str) and name["text"].strip():
            return str(name["text"]).strip()
        given = [g for g in name.get("given") or [] if isinstance(g, str)]
        family = name["family"] if isinstance(name.get("family"), str) else ""
        text = " ".join([*given, family]).strip()
        if text:
            return text
    return ""


def _datum_date(datum: Datum) -> str:
    return datum.when.isoformat() if datum.when is not None else ""


@dataclass(frozen=True)
class FetchFrom:
    """With `--since` the export holds only what changed: each patient's whole record is then read from the
    FHIR server by the hook's own fetch path (`fhirServer` + `fhirAuthorization` in the request)."""

    base: str
    token: Callable[[], str]
    scope: str
    client_id: str


class PatientRows:
    """Turns one patient's resources into rows; built once per run around the run's Services."""

    def __init__(self, services: Services, definition: ServiceDefinition, problems: Problems,
                 fetch: FetchFrom | None = None) -> None:
        self.services = services
        self.definition = definition
        self.service = find_service(services, definition.id)
        self.key_types = template_types(definition)
        self.problems = problems
        self.fetch = fetch

    def _fetch_request(self, patient_id: str) -> dict[str, Any]:
        assert self.fetch is not None
        return {
            "hook": self.definition.hook, "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Device/nxp2-cds-worklist", "patientId": patient_id},
            "fhirServer": self.fetch.base,
            "fhirAuthorization": {"access_token": self.fetch.token(), "token_type": "Bearer", "expires_in": 300,
                                  "scope": self.fetch.scope, "subject": self.fetch.client_id},
        }

    def _unreadable(self, patient_id: str, patient: Mapping[str, Any] | None, reason: str) -> list[Row]:
        return [Row(patient_id, _name(patient), "", "", "", "", "", "", UNREADABLE, reason)]

    def rows(self, patient_id: str, resources: list[dict[str, Any]]) -> list[Row]:
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for resource in resources:  # an export may repeat a resource; the last line wins
            latest[(str(resource.get("resourceType")), str(resource.get("id")))] = resource
        patients = [r for r in latest.values() if r.get("resourceType") == "Patient"]
        patient = patients[0] if len(patients) == 1 else None
        lost = self.problems.lost_types(patient_id)
        if self.fetch is None and ("Patient" in lost or patient is None):
            found = "a Patient line could not be read" if "Patient" in lost else f"{len(patients)} Patient resources"
            return self._unreadable(patient_id, patient, f"expected one readable Patient, found {found}")
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in latest.values()]}
        try:
            if self.fetch is not None:
                request = self._fetch_request(patient_id)
            else:
                request = build_request(bundle, self.definition, hook_instance=str(uuid.uuid4()))
            for key, resource_type in self.key_types.items():
                if resource_type in lost:
                    request.get("prefetch", {}).pop(key, None)
            evaluation = evaluate(self.definition.id, HookRequest.model_validate(request), self.services)
        except PrefetchUnavailable as error:
            where = "fetched from the FHIR server" if self.fetch else "read from the export"
            return self._unreadable(patient_id, patient, f"{self.key_types.get(error.key, error.key)} data "
                                    f"could not all be {where}")
        except (BundleError, ValidationError) as error:
            return self._unreadable(patient_id, patient, str(error).splitlines()[0])
        age = self._age(evaluation.facts)
        rows = []
        for rendered in evaluation.rendered:
            deciding = self._deciding(evaluation.facts, rendered.rule_id)
            rows.append(Row(
                patient_id=patient_id, name=_name(patient), age=age, card_id=rendered.rule_id,
                indicator=rendered.card.indicator, summary=rendered.card.summary,
                deciding_fact=f"{deciding.label}: {deciding.value}" if deciding else "",
                deciding_date=_datum_date(deciding) if deciding else "",
            ))
        return rows

    def _age(self, facts: PatientFacts) -> str:
        if facts.birth_date is None:
            return ""
        return str(int(decimal_age(facts.birth_date, self.services.clock.now())))

    def _deciding(self, facts: PatientFacts, rule_id: str) -> Datum | None:
        """The card's deciding fact: the last data line of its finding (the shared antibody and onset lines
        come first). Rules are pure functions of facts and context, so running one again gives the same
        finding the card was rendered from."""
        entry = self.services.catalogue.rules[rule_id]
        context = rule_context(entry, self.services.clock.now(), concept_titles(self.services.valuesets))
        finding = self.services.registry[rule_id].function(facts, context)
        return finding.data[-1] if finding is not None and finding.data else None
