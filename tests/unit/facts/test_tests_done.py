"""Tests done and declined from Procedures, DiagnosticReports and ImagingStudies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.unit.facts.fhir import CPT, LOINC, SNOMED, concept, facts_of, imaging, procedure, report

REQUIRED = [
    (SNOMED, "169069000", "ct-chest"),
    (SNOMED, "303662009", "ct-chest"),
    (SNOMED, "1148701004", "ct-abdomen-pelvis"),
    (SNOMED, "23426006", "pft"),
    (SNOMED, "127783003", "pft"),
    (SNOMED, "29303009", "ecg"),
    (SNOMED, "40701008", "echocardiogram"),
    (CPT, "71250", "ct-chest"),
    (CPT, "71260", "ct-chest"),
    (CPT, "74177", "ct-abdomen-pelvis"),
    (CPT, "78815", "pet-ct"),
    (CPT, "78816", "pet-ct"),
    (CPT, "94010", "pft"),
    (CPT, "94729", "pft"),
    (CPT, "93306", "echocardiogram"),
]


@pytest.mark.parametrize(("system", "code", "expected"), REQUIRED)
def test_a_completed_procedure_with_a_required_code_is_a_test_done(system: str, code: str, expected: str) -> None:
    facts = facts_of(procedure(concept(system, code), performedDateTime="2026-05-01"))
    assert [(t.concept, t.performed) for t in facts.tests_done] == [(expected, datetime(2026, 5, 1, tzinfo=UTC))]


def test_performed_period_start() -> None:
    facts = facts_of(procedure(concept(SNOMED, "169069000"), performedPeriod={"start": "2026-05-01T10:00:00Z"}))
    assert facts.tests_done[0].performed == datetime(2026, 5, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize("status", ["in-progress", "preparation", "stopped", "entered-in-error", "unknown"])
def test_other_procedure_statuses_are_not_tests_done(status: str) -> None:
    assert facts_of(procedure(concept(SNOMED, "169069000"), status=status)).tests_done == ()


def test_not_done_with_a_reason_is_a_test_declined() -> None:
    reason = {"coding": [{"system": SNOMED, "code": "183944003", "display": "Procedure refused"}],
              "text": "Patient declined CT"}
    facts = facts_of(procedure(concept(SNOMED, "169069000"), status="not-done", statusReason=reason,
                               meta={"lastUpdated": "2026-10-01T09:00:00Z"}))
    assert facts.tests_done == ()
    (declined,) = facts.tests_declined
    assert (declined.concept, declined.reason, declined.recorded) == (
        "ct-chest", "Patient declined CT", datetime(2026, 10, 1, 9, tzinfo=UTC))


def test_not_done_without_a_reason_is_ignored() -> None:
    facts = facts_of(procedure(concept(SNOMED, "169069000"), status="not-done"))
    assert (facts.tests_done, facts.tests_declined) == ((), ())


@pytest.mark.parametrize(("status", "counted"), [("final", True), ("amended", True), ("corrected", True),
                                                 ("appended", True), ("preliminary", False), ("partial", False),
                                                 ("registered", False), ("cancelled", False),
                                                 ("entered-in-error", False)])
def test_diagnostic_report_statuses(status: str, counted: bool) -> None:
    facts = facts_of(report(concept(LOINC, "29252-4"), status=status, effectiveDateTime="2026-04-01"))
    assert bool(facts.tests_done) is counted


def test_a_report_without_effective_uses_issued() -> None:
    facts = facts_of(report(concept(LOINC, "11524-6"), issued="2026-04-02T08:00:00Z"))
    assert [(t.concept, t.performed) for t in facts.tests_done] == [("ecg", datetime(2026, 4, 2, 8, tzinfo=UTC))]


@pytest.mark.parametrize(("status", "counted"), [("available", True), ("registered", False), ("cancelled", False),
                                                 ("entered-in-error", False)])
def test_imaging_study_statuses(status: str, counted: bool) -> None:
    facts = facts_of(imaging([concept(CPT, "78815")], status=status, started="2026-03-01T10:00:00Z"))
    assert bool(facts.tests_done) is counted


def test_a_procedure_code_of_a_problem_is_not_a_test() -> None:
    assert facts_of(procedure(concept(SNOMED, "40739000"))).tests_done == ()


def test_last_test_across_concepts() -> None:
    facts = facts_of(procedure(concept(SNOMED, "169069000"), id="a", performedDateTime="2025-01-01"),
                     imaging([concept(CPT, "78816")], id="b", started="2026-01-01"))
    last = facts.last_test(("ct-chest", "pet-ct"))
    assert last is not None and last.ref.reference == "ImagingStudy/b"
