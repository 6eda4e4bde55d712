"""The fetch path end to end against a real FHIR R4 server (sekmet) on loopback.

Only standard FHIR REST is used (read, search with `_count`, `_include`, `next` links, transaction), so
another FHIR server could replace it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from fhir.resources.R4B.bundle import Bundle
from flask.testing import FlaskClient

from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.hooks.caller import Caller
from cds_service.hooks.errors import PrefetchUnavailable
from cds_service.hooks.prefetch import FhirAccess, ResolvedData, resolve
from cds_service.support.clock import FixedClock
from cds_service.support.ids import SequentialIds
from tests.conftest import NOW, TESTS
from tests.fetch.helpers import access, kinds, request
from tests.integration.conftest import N_OBSERVATIONS, OTHER_ID, PATIENT_ID, SERVER_TOKEN, patient_bundle
from tests.rules_for_tests import TEST_REGISTRY
from tests.support.fhir_server import FhirServer

SERVICE = yaml.safe_load((Path(__file__).resolve().parents[2] / "cards/services/nxp2-myositis.yaml").read_text())
TEMPLATES: dict[str, str] = SERVICE["prefetch"]
REQUIRED: list[str] = SERVICE["required_prefetch"]
SMALL_PAGES = dict(TEMPLATES, observations="Observation?patient={{context.patientId}}&_count=10")
DEV = Caller()


def dev_access(**env: str) -> FhirAccess:
    return access(mode="development", budget=2.0, networks="", **env)


def fetch(server: FhirServer, prefetch: dict[str, Any] | None = None, templates: dict[str, str] = TEMPLATES,
          token: str | None = SERVER_TOKEN, fhir_access: FhirAccess | None = None, patient: str = PATIENT_ID,
          fhir_server: str | None = "default") -> ResolvedData:
    req = request(prefetch, server.base_url if fhir_server == "default" else fhir_server, token, patient)
    return resolve(templates, REQUIRED, req, DEV, fhir_access or dev_access())


def test_the_fixture_bundle_is_valid_fhir_r4() -> None:
    Bundle.model_validate(patient_bundle())


def test_every_key_is_fetched_when_no_prefetch_is_sent(fhir_server: FhirServer) -> None:
    started = time.monotonic()
    data = fetch(fhir_server)
    elapsed = time.monotonic() - started
    assert data.patient["id"] == PATIENT_ID
    assert kinds(data) == {"Observation": N_OBSERVATIONS, "Condition": 3, "Procedure": 1,
                           "DiagnosticReport": 1, "ImagingStudy": 1}
    assert sorted(data.fetched) == sorted(TEMPLATES)
    assert (data.unavailable, data.incomplete) == ((), ())
    assert all(r.get("subject", {}).get("reference") == f"Patient/{PATIENT_ID}" for r in data.resources)
    assert elapsed < 2.0


def test_a_partial_prefetch_fetches_only_what_is_missing(fhir_server: FhirServer) -> None:
    _, patient = fhir_server.request("GET", f"Patient/{PATIENT_ID}")
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
    data = fetch(fhir_server, {"patient": patient, "conditions": outcome, "procedures": None,
                               "diagnosticReports": {"resourceType": "Bundle", "type": "searchset", "total": 0}})
    assert sorted(data.fetched) == ["conditions", "imagingStudies", "observations"]
    assert kinds(data) == {"Observation": N_OBSERVATIONS, "Condition": 3, "ImagingStudy": 1}


def test_search_pages_are_followed_through_the_servers_next_links(fhir_server: FhirServer) -> None:
    data = fetch(fhir_server, templates=SMALL_PAGES)
    assert kinds(data)["Observation"] == N_OBSERVATIONS
    assert data.incomplete == ()


def test_the_page_limit_leaves_the_key_incomplete(fhir_server: FhirServer) -> None:
    data = fetch(fhir_server, templates=SMALL_PAGES, fhir_access=dev_access(CDS_FHIR_MAX_PAGES="2"))
    assert kinds(data)["Observation"] == 20
    assert data.incomplete == ("observations",)


def test_a_first_page_sent_as_prefetch_is_continued_from_the_server(fhir_server: FhirServer) -> None:
    # What the public sandbox does: it fills prefetch with the first page and keeps the next link.
    status, first = fhir_server.request("GET", f"Observation?patient={PATIENT_ID}&_count=10")
    assert status == 200 and len(first["entry"]) == 10
    data = fetch(fhir_server, {"observations": first}, templates=SMALL_PAGES)
    assert kinds(data)["Observation"] == N_OBSERVATIONS
    assert "observations" in data.fetched and data.incomplete == ()
    without_server = fetch(fhir_server, {"patient": {"resourceType": "Patient", "id": PATIENT_ID},
                                         "observations": first, "conditions": None}, fhir_server=None)
    assert kinds(without_server) == {"Observation": 10}
    assert without_server.incomplete == ("observations",)


def test_an_included_patient_is_the_patient(fhir_server: FhirServer) -> None:
    query = f"Observation?patient={PATIENT_ID}&_count=100&_include=Observation:patient"
    status, bundle = fhir_server.request("GET", query)
    assert status == 200
    assert any(e.get("search", {}).get("mode") == "include" for e in bundle["entry"])
    data = fetch(fhir_server, {"patient": None, "observations": bundle, "conditions": None}, fhir_server=None)
    assert data.patient["id"] == PATIENT_ID
    assert kinds(data) == {"Observation": N_OBSERVATIONS}
    assert data.incomplete == ()


def test_another_patients_data_never_comes_back(fhir_server: FhirServer) -> None:
    data = fetch(fhir_server, patient=OTHER_ID)
    assert data.patient["id"] == OTHER_ID
    assert kinds(data) == {"Observation": 2}


@pytest.mark.parametrize("token", ["wrong-token", None])
def test_a_token_the_server_refuses_is_412_for_the_patient(fhir_server: FhirServer, token: str | None) -> None:
    with pytest.raises(PrefetchUnavailable) as caught:
        fetch(fhir_server, token=token)
    assert (caught.value.key, "401" in caught.value.reason) == ("patient", True)
    assert SERVER_TOKEN not in str(caught.value)


def test_an_unknown_patient_is_412(fhir_server: FhirServer) -> None:
    with pytest.raises(PrefetchUnavailable) as caught:
        fetch(fhir_server, patient="nobody")
    assert caught.value.key == "patient" and "404" in caught.value.reason


def test_production_fetches_only_from_an_explicitly_allowed_server(fhir_server: FhirServer) -> None:
    origin = fhir_server.base_url.rsplit("/", 1)[0]
    caller = Caller(issuer="https://ehr.example.org", tenant=None, jti="j1")
    allowed = access(budget=2.0, servers={"https://ehr.example.org": [fhir_server.base_url]})
    req = request(None, fhir_server.base_url, SERVER_TOKEN, PATIENT_ID)
    assert resolve(TEMPLATES, REQUIRED, req, caller, allowed).patient["id"] == PATIENT_ID
    for refused in (access(budget=2.0, servers={"https://other.example.org": [origin]}),
                    access(budget=2.0, servers={"https://ehr.example.org": [origin]}, networks="")):
        with pytest.raises(PrefetchUnavailable):
            resolve(TEMPLATES, REQUIRED, req, caller, refused)


# --- Through the whole app (development mode; JWTs arrive with the auth work) ---------------------------

def app_client(tmp_path: Path, catalogue: Path | None = None) -> FlaskClient:
    settings = Settings(mode="development", data_dir=tmp_path, fhir_timeout_s=2.0,
                        **({"catalogue_dir": catalogue} if catalogue else {}))
    registry = TEST_REGISTRY if catalogue else None
    return create_app(settings, registry=registry, clock=FixedClock(NOW), ids=SequentialIds()).test_client()


def post(client: FlaskClient, service: str, body: dict[str, Any]) -> Any:
    return client.post(f"/cds-services/{service}", data=orjson.dumps(body), content_type="application/json")


def test_the_real_service_answers_from_fetched_data(tmp_path: Path, fhir_server: FhirServer) -> None:
    response = post(app_client(tmp_path), "nxp2-myositis", request(None, fhir_server.base_url, SERVER_TOKEN,
                                                                    PATIENT_ID).dump())
    assert (response.status_code, response.json) == (200, {"cards": []})


def test_a_card_is_built_from_a_patient_fetched_from_the_server(tmp_path: Path, fhir_server: FhirServer) -> None:
    client = app_client(tmp_path, TESTS / "catalogue_for_tests")
    response = post(client, "test-service", request(None, fhir_server.base_url, SERVER_TOKEN, PATIENT_ID).dump())
    assert response.status_code == 200
    assert [c["summary"] for c in response.json["cards"]] == ["Test card: born in 1950, before the cut-off"]
    refused = post(client, "test-service", request(None, fhir_server.base_url, "wrong", PATIENT_ID).dump())
    assert refused.status_code == 412
    assert refused.json["issue"][0]["code"] == "incomplete"
    assert "'patient'" in refused.json["issue"][0]["diagnostics"]
