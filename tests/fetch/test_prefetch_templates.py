"""Prefetch templates stay inside the CDS Hooks 2.0 query subset, and tokens expand safely."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cds_service.hooks.prefetch_templates import Query, TemplateError, check_template, expand

SERVICES = Path(__file__).resolve().parents[2] / "cards" / "services"


@pytest.mark.parametrize("path", sorted(SERVICES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_catalogue_template_is_in_the_subset(path: Path) -> None:
    service = yaml.safe_load(path.read_text())
    for template in service["prefetch"].values():
        check_template(template)


@pytest.mark.parametrize(("template", "query"), [
    ("Patient/{{context.patientId}}", Query("read", "Patient")),
    ("{{context.userId}}", Query("read", None)),
    ("Observation?patient={{context.patientId}}&_count=1000", Query("search", "Observation")),
    ("Observation?patient={{context.patientId}}&code=4548-4&_count=1&_sort=-date", Query("search", "Observation")),
    ("Observation?patient={{context.patientId}}&code:in=http://example.org/vs", Query("search", "Observation")),
    ("Observation?subject=Patient/{{context.patientId}}&date=ge2020-01-01", Query("search", "Observation")),
    ("PractitionerRole?_id={{userPractitionerRoleId}}&_include=PractitionerRole:practitioner",
     Query("search", "PractitionerRole")),
])
def test_templates_in_the_subset_are_accepted(template: str, query: Query) -> None:
    assert check_template(template) == query


@pytest.mark.parametrize("template", [
    "Observation?patient={{context.patientId}}&date=ge{{today() - 90 days}}",  # 3.0 date token
    "Observation?patient={{context.medication.id}}",  # not a root-level field
    "Observation?patient={{patientId}}",  # not context.*
    "Observation?code:text=ck",  # token modifier other than :in
    "Observation?patient:missing=true",
    "Observation?subject.name=Ada",  # chained parameter
    "Observation?subject:Patient.name=Ada",
    "Observation?_has:Condition:patient:code=x",
    "Observation?_elements=code",  # search control outside the subset
    "Observation?date=sa2020-01-01",  # date prefix outside eq/lt/gt/ge/le
    "Observation?_count=all",
    "Observation?patient",  # no value
    "Observation",  # neither read nor search
    "Practitioner/{{context.userId}}",  # would give Practitioner/Practitioner/123 (and is not an id)
    "Observation?patient={{context.patientId}}#x",
    "patient/{{context.patientId}}",
])
def test_templates_outside_the_subset_are_refused(template: str) -> None:
    with pytest.raises(TemplateError):
        check_template(template)


CONTEXT = {"userId": "PractitionerRole/r1", "patientId": "p 1&x=y", "encounterId": None}


def test_tokens_are_url_encoded() -> None:
    assert expand("Observation?patient={{context.patientId}}", CONTEXT) == "Observation?patient=p%201%26x%3Dy"


def test_a_missing_context_value_gives_no_query() -> None:
    assert expand("Encounter/{{context.encounterId}}", CONTEXT) is None


def test_user_tokens_come_from_user_id_of_the_right_type() -> None:
    assert expand("PractitionerRole?_id={{userPractitionerRoleId}}", CONTEXT) == "PractitionerRole?_id=r1"
    assert expand("Practitioner/{{userPractitionerId}}", CONTEXT) is None


def test_a_whole_template_token_must_hold_a_reference() -> None:
    assert expand("{{context.userId}}", CONTEXT) == "PractitionerRole/r1"
    assert expand("{{context.userId}}", {"userId": "../../admin"}) is None
