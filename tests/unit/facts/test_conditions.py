"""Conditions and coded findings become problems; myositis onset and its fallbacks; juvenile onset."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cds_service.facts.build import FIRST_ANTIBODY_SOURCE
from tests.unit.facts.fhir import (
    ICD10CM,
    LOINC,
    SNOMED,
    concept,
    condition,
    facts_of,
    interpretation,
    nxp2,
    observation,
    patient,
)

DM = concept(SNOMED, "396230008", "Dermatomyositis")
JDM_RESPIRATORY = concept(ICD10CM, "M33.01", "Juvenile dermatomyositis with respiratory involvement")


@pytest.mark.parametrize(("clinical", "current"), [("active", True), ("recurrence", True), ("relapse", True),
                                                   ("inactive", False), ("remission", False), ("resolved", False),
                                                   (None, False)])
def test_current_means_active_recurrence_or_relapse(clinical: str | None, current: bool) -> None:
    (problem,) = facts_of(condition(concept(SNOMED, "40739000"), clinical=clinical)).problems
    assert (problem.concept, problem.current, problem.clinical_status) == ("dysphagia", current, clinical or "")


@pytest.mark.parametrize("verification", ["entered-in-error", "refuted"])
def test_refuted_and_entered_in_error_conditions_are_ignored(verification: str) -> None:
    assert facts_of(condition(DM, verification=verification)).problems == ()


@pytest.mark.parametrize("verification", ["confirmed", "provisional", "differential", "unconfirmed", None])
def test_other_verification_statuses_count(verification: str | None) -> None:
    assert facts_of(condition(DM, verification=verification)).has_current("myositis")


def test_one_code_can_be_two_concepts() -> None:
    facts = facts_of(condition(JDM_RESPIRATORY))
    assert sorted(p.concept for p in facts.problems) == ["ild", "juvenile-dermatomyositis", "myositis"]


def test_icd_codes_match_with_or_without_the_dot_and_by_hierarchy() -> None:
    facts = facts_of(condition(concept(ICD10CM, "M3302"), id="a"), condition(concept(ICD10CM, "C34.90"), id="b"),
                     condition(concept(ICD10CM, "L98.415"), id="c"))
    assert {(p.ref.id, p.concept) for p in facts.problems} == {("a", "myositis"), ("a", "juvenile-dermatomyositis"),
                                                               ("b", "malignancy"), ("c", "skin-ulcer")}


def test_problem_dates_and_display() -> None:
    (problem,) = facts_of(condition(DM, onsetDateTime="2025-03-01", recordedDate="2025-04-02")).problems
    assert problem.onset == datetime(2025, 3, 1, tzinfo=UTC)
    assert problem.recorded == datetime(2025, 4, 2, tzinfo=UTC)
    assert problem.display == "Dermatomyositis"


def test_an_stu3_style_plain_string_status_is_read() -> None:
    cond = {"resourceType": "Condition", "id": "c1", "code": DM, "clinicalStatus": "active",
            "verificationStatus": "refuted"}
    assert facts_of(cond).problems == ()


# --- findings from Observations ---------------------------------------------------------------------------


def test_a_positive_occult_blood_test_is_a_current_gi_bleeding_problem_from_its_date() -> None:
    positive = concept(SNOMED, "10828004")
    fobt = observation(concept(LOINC, "2335-8"), effective="2026-11-22", valueCodeableConcept=positive)
    (problem,) = facts_of(fobt).problems
    assert (problem.concept, problem.current) == ("gi-bleeding", True)
    assert problem.onset == datetime(2026, 11, 22, tzinfo=UTC)


@pytest.mark.parametrize("value", [{"valueCodeableConcept": concept(SNOMED, "260385009")},
                                   {"valueString": "Negative"}, {"interpretation": interpretation("N")},
                                   {"valueBoolean": False}])
def test_a_negative_finding_is_not_a_problem(value: dict[str, object]) -> None:
    assert facts_of(observation(concept(LOINC, "2335-8"), **value)).problems == ()


def test_a_finding_coded_without_a_value_asserts_it() -> None:
    (problem,) = facts_of(observation(concept(SNOMED, "21522001", "Abdominal pain"))).problems
    assert (problem.concept, problem.display) == ("abdominal-pain", "Abdominal pain")


def test_a_preliminary_finding_is_not_a_problem() -> None:
    obs = observation(concept(LOINC, "2335-8"), status="preliminary", valueString="Positive")
    assert facts_of(obs).problems == ()


def test_an_unreadable_finding_is_an_issue_not_a_problem() -> None:
    facts = facts_of(observation(concept(LOINC, "2335-8"), valueString="see report"))
    assert facts.problems == ()
    assert [i.concept for i in facts.issues] == ["gi-bleeding"]


# --- onset -------------------------------------------------------------------------------------------------


def test_onset_from_onset_datetime() -> None:
    facts = facts_of(condition(DM, onsetDateTime="2025-03-01T00:00:00+01:00"))
    assert facts.onset is not None
    assert (facts.onset.when, facts.onset.source, facts.onset.approximate) == (
        datetime(2025, 2, 28, 23, tzinfo=UTC), "onsetDateTime", False)


def test_onset_from_onset_age_and_birth_date() -> None:
    facts = facts_of(condition(DM, onsetAge={"value": 4, "unit": "years", "system": "http://unitsofmeasure.org",
                                              "code": "a"}), person=patient("2018-06-01"))
    assert facts.onset is not None and facts.onset.source == "onsetAge"
    assert facts.onset_age() == pytest.approx(4.0, abs=0.01)
    assert facts.is_juvenile_onset() is True


def test_onset_age_without_a_birth_date_falls_back() -> None:
    facts = facts_of(condition(DM, onsetAge={"value": 4, "code": "a"}, recordedDate="2022-09-01"),
                     person=patient(None))
    assert facts.onset is not None and facts.onset.source == "recordedDate"


def test_onset_from_onset_period_start() -> None:
    facts = facts_of(condition(DM, onsetPeriod={"start": "2024-02", "end": "2024-05"}))
    assert facts.onset is not None
    assert (facts.onset.when, facts.onset.source) == (datetime(2024, 2, 1, tzinfo=UTC), "onsetPeriod")


def test_onset_from_recorded_date_is_approximate() -> None:
    facts = facts_of(condition(DM, recordedDate="2024-07-15"))
    assert facts.onset is not None
    assert (facts.onset.source, facts.onset.approximate) == ("recordedDate", True)


def test_onset_from_the_first_positive_antibody_is_approximate() -> None:
    facts = facts_of(
        condition(DM),
        nxp2(id="late", effective="2025-06-01", valueString="Positive"),
        nxp2(id="early", effective="2024-01-10", valueString="Positive"),
        nxp2(id="neg", effective="2023-01-01", valueString="Negative"),
    )
    assert facts.onset is not None
    assert (facts.onset.source, facts.onset.approximate, facts.onset.ref.id) == (FIRST_ANTIBODY_SOURCE, True, "early")
    assert facts.onset.when == datetime(2024, 1, 10, tzinfo=UTC)


def test_without_a_myositis_condition_there_is_no_onset() -> None:
    assert facts_of(nxp2(valueString="Positive")).onset is None


def test_the_earliest_stated_onset_wins() -> None:
    facts = facts_of(condition(DM, id="late", onsetDateTime="2025-01-01"),
                     condition(concept(SNOMED, "31384009"), id="early", onsetDateTime="2023-05-01"),
                     condition(DM, id="recorded", recordedDate="2020-01-01"))
    assert facts.onset is not None and facts.onset.ref.id == "early" and not facts.onset.approximate


def test_a_resolved_myositis_still_gives_the_onset() -> None:
    facts = facts_of(condition(DM, clinical="resolved", onsetDateTime="2019"))
    assert facts.onset is not None and facts.onset.when == datetime(2019, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("birth", "juvenile"), [("2010-01-01", True), ("2007-01-02", True), ("2006-12-31", False),
                                                 ("1970-06-01", False)])
def test_juvenile_means_onset_before_18(birth: str, juvenile: bool) -> None:
    facts = facts_of(condition(DM, onsetDateTime="2025-01-01"), person=patient(birth))
    assert facts.is_juvenile_onset() is juvenile


def test_age_today_from_the_birth_date() -> None:
    facts = facts_of(person=patient("2016-11-24"))
    assert facts.age_on(datetime(2026, 11, 24, tzinfo=UTC)) == pytest.approx(10.0, abs=0.01)
