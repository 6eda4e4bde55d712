"""`build_facts`: one patient's `PatientFacts` from the Patient resource and the other resources received.

Each resource goes to the reader of its type (the package docstring maps them); a resource whose shape defeats
the readers' type checks is dropped with a DataIssue, never a 500. The property tests assert that this net is
never needed for the shapes they generate. Onset and growth are resolved once every resource is read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from cds_service.facts.collector import Collector
from cds_service.facts.common_lab import read_observation_fast
from cds_service.facts.conditions import read_condition
from cds_service.facts.fhir_json import as_str
from cds_service.facts.model import DataIssue, PatientFacts, ResourceRef
from cds_service.facts.onset import FIRST_ANTIBODY_SOURCE, estimate_onset
from cds_service.facts.patient import growth_series, read_patient
from cds_service.facts.tests_done import read_diagnostic_report, read_imaging_study, read_procedure
from cds_service.facts.valuesets import ValueSets

__all__ = ["FIRST_ANTIBODY_SOURCE", "READERS", "UNREADABLE_CONCEPT", "build_facts"]

READERS: Final[dict[str, Callable[[Collector, Mapping[str, Any]], None]]] = {
    "Observation": read_observation_fast,  # the common lab shape by a fast path, anything else as before
    "Condition": read_condition,
    "Procedure": read_procedure,
    "DiagnosticReport": read_diagnostic_report,
    "ImagingStudy": read_imaging_study,
}
UNEXPECTED: Final = (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError)
UNREADABLE_CONCEPT: Final = "unreadable resource"


def build_facts(
    patient: Mapping[str, Any],
    resources: Sequence[Mapping[str, Any]],
    now: datetime,
    valuesets: ValueSets,
    *,
    unavailable: Sequence[str] = (),
) -> PatientFacts:
    """Return the facts of one patient from its Patient resource and the other resources received."""
    patient_id, birth_date, sex = read_patient(patient)
    facts = Collector(valuesets, now, birth_date, sex)
    readers = READERS
    for resource in resources:
        if not isinstance(resource, dict):
            continue
        resource_type = resource.get("resourceType")
        reader = readers.get(resource_type) if isinstance(resource_type, str) else None
        if reader is None:
            continue
        try:
            reader(facts, resource)
        except UNEXPECTED as error:
            facts.issues.append(DataIssue(
                UNREADABLE_CONCEPT, ResourceRef(resource_type, as_str(resource.get("id"))),  # type: ignore[arg-type]
                f"{resource_type} could not be read ({type(error).__name__})",
            ))
    return PatientFacts(
        patient_id=patient_id,
        birth_date=birth_date,
        sex=sex,
        antibodies=tuple(facts.antibodies),
        labs=tuple(facts.labs),
        problems=tuple(facts.problems),
        tests_done=tuple(facts.tests_done),
        tests_declined=tuple(facts.tests_declined),
        onset=estimate_onset(facts.myositis, facts.antibodies, facts.problems, valuesets.onset_markers),
        growth=growth_series(facts.labs, birth_date, sex, valuesets.growth),
        issues=tuple(facts.issues),
        unavailable=tuple(str(key) for key in unavailable),
    )
