"""Procedures, DiagnosticReports and ImagingStudies: the tests done (and, from a Procedure, declined).

Procedure completed = a test done; not-done with a statusReason = a test declined. DiagnosticReport:
final/amended/corrected (and appended, a kind of amended). ImagingStudy: available.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from cds_service.facts.collector import Collector
from cds_service.facts.dates import parse_datetime
from cds_service.facts.fhir_json import as_list, as_object, as_str, effective, period_start, text_of
from cds_service.facts.model import ResourceRef, TestDeclined, TestDone

REPORT_ACTING: Final = frozenset({"final", "amended", "corrected", "appended"})


def read_procedure(facts: Collector, proc: Mapping[str, Any]) -> None:
    status = as_str(proc.get("status"))
    if status not in ("completed", "not-done"):
        return
    concepts = facts.of_kind(proc.get("code"), "test")
    if not concepts:
        return
    ref = ResourceRef("Procedure", as_str(proc.get("id")))
    performed = parse_datetime(proc.get("performedDateTime")) or period_start(proc.get("performedPeriod"))
    if status == "completed":
        facts.tests_done.extend(TestDone(concept, performed, ref) for concept in concepts)
        return
    reason = text_of(proc.get("statusReason"))
    if not reason:
        return
    meta = as_object(proc.get("meta"))
    recorded = performed or (parse_datetime(meta.get("lastUpdated")) if meta is not None else None)
    facts.tests_declined.extend(TestDeclined(concept, recorded, reason, ref) for concept in concepts)


def read_diagnostic_report(facts: Collector, report: Mapping[str, Any]) -> None:
    if as_str(report.get("status")) not in REPORT_ACTING:
        return
    concepts = facts.of_kind(report.get("code"), "test")
    if concepts:
        performed = effective(report) or parse_datetime(report.get("issued"))
        ref = ResourceRef("DiagnosticReport", as_str(report.get("id")))
        facts.tests_done.extend(TestDone(concept, performed, ref) for concept in concepts)


def read_imaging_study(facts: Collector, study: Mapping[str, Any]) -> None:
    if as_str(study.get("status")) != "available":
        return
    concepts: list[str] = []
    for codeable in as_list(study.get("procedureCode")):
        concepts.extend(c for c in facts.of_kind(codeable, "test") if c not in concepts)
    if concepts:
        performed = parse_datetime(study.get("started"))
        ref = ResourceRef("ImagingStudy", as_str(study.get("id")))
        facts.tests_done.extend(TestDone(concept, performed, ref) for concept in concepts)
