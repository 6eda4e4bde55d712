"""Attacks through `fhirServer` (issue 6 item 3), through the service layer in production mode, each with
a valid control beside it. Refusals happen before any connection: the autouse guard fails the test on
any connection beyond loopback, and the local servers record every request they get.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask.testing import FlaskClient

from cds_service.app import build_services, create_app
from cds_service.config import Settings
from cds_service.hooks.caller import Caller
from cds_service.hooks.errors import PrefetchUnavailable
from cds_service.hooks.evaluate import Evaluation, Services, evaluate
from cds_service.support.clock import FixedClock
from cds_service.support.ids import SequentialIds
from tests.conftest import NOW, TESTS
from tests.fetch.helpers import ISS, PATIENT, TOKEN, observation, request, searchset
from tests.rules_for_tests import TEST_REGISTRY
from tests.support.fault_server import FaultServer

CALLER = Caller(issuer=ISS, tenant="hospital-a", jti="j1")
SERVICE = "test-service"  # templates: patient (required) and observations


def services(tmp_path: Path, servers: dict[str, Any], networks: str = "127.0.0.1/32", mode: str = "production",
             **env: str) -> Services:
    settings = Settings.from_env({
        "CDS_MODE": mode, "CDS_DATA_DIR": str(tmp_path), "CDS_CATALOGUE_DIR": str(TESTS / "catalogue_for_tests"),
        "CDS_FHIR_ALLOWED_SERVERS": json.dumps(servers), "CDS_FHIR_ALLOWED_NETWORKS": networks,
        "CDS_FHIR_TIMEOUT_S": "1.0", **env,
    })
    return build_services(settings, registry=TEST_REGISTRY, clock=FixedClock(NOW), ids=SequentialIds())


def call(wired: Services, fhir_server: str, prefetch: dict[str, Any] | None = None,
         caller: Caller = CALLER) -> Evaluation:
    return evaluate(SERVICE, request(prefetch, fhir_server), wired, caller)


def refused(wired: Services, fhir_server: str, **kwargs: Any) -> str:
    with pytest.raises(PrefetchUnavailable) as caught:
        call(wired, fhir_server, **kwargs)
    assert caught.value.key == "patient"
    return caught.value.reason


@pytest.fixture
def fhir(fault: FaultServer) -> FaultServer:
    """A well-behaved FHIR server on loopback: the target of every control."""
    fault.routes["/fhir/Patient/p1"] = lambda h: h.send_json(PATIENT)
    fault.routes["/fhir/Observation"] = lambda h: h.send_json(searchset(observation(1)))
    return fault


def served(evaluation: Evaluation) -> list[str]:
    return [r.rule_id for r in evaluation.rendered]


def test_plain_http_in_production_is_refused(tmp_path: Path, fhir: FaultServer) -> None:
    https_only = services(tmp_path, {ISS: [f"https://127.0.0.1:{fhir.port}"]})
    assert "https" in refused(https_only, fhir.url("/fhir"))
    assert fhir.requests == []
    control = services(tmp_path, {ISS: [fhir.origin]})  # an explicit http:// entry, for local testing
    assert served(call(control, fhir.url("/fhir"))) == ["test-born-before"]


def test_loopback_in_production_is_refused_unless_its_network_is_allowed(tmp_path: Path, fhir: FaultServer) -> None:
    no_networks = services(tmp_path, {ISS: [fhir.origin]}, networks="")
    assert "loopback" in refused(no_networks, fhir.url("/fhir"))
    assert fhir.requests == []
    control = services(tmp_path, {ISS: [fhir.origin]}, networks="127.0.0.0/8")
    assert served(call(control, fhir.url("/fhir"))) == ["test-born-before"]


@pytest.mark.parametrize("server", ["http://169.254.169.254/latest", "http://[fd00:ec2::254]/latest",
                                    "https://10.0.0.5/fhir", "https://192.168.1.10/fhir"])
def test_metadata_and_private_addresses_are_refused_before_connecting(
        tmp_path: Path, fhir: FaultServer, server: str, loopback_only: list[str]) -> None:
    origin = server.rsplit("/", 1)[0]
    wired = services(tmp_path, {ISS: [origin, fhir.origin]}, networks="127.0.0.1/32")
    reason = refused(wired, server)
    assert "metadata" in reason or "private" in reason
    assert loopback_only == []  # no connection was even attempted
    assert served(call(wired, fhir.url("/fhir"))) == ["test-born-before"]  # control


def test_a_host_that_redirects_elsewhere_gets_no_second_request(
        tmp_path: Path, fhir: FaultServer, other: FaultServer) -> None:
    other.routes["/fhir/Patient/p1"] = lambda h: h.send_json(PATIENT)
    elsewhere = {"Location": other.url("/fhir/Patient/p1")}
    fhir.routes["/evil/Patient/p1"] = lambda h: h.send_body(b"", 307, headers=elsewhere)
    wired = services(tmp_path, {ISS: [fhir.origin]})
    assert "redirect" in refused(wired, fhir.url("/evil"))
    assert other.requests == []  # neither the request nor the token reached the other host
    assert served(call(wired, fhir.url("/fhir"))) == ["test-born-before"]  # control


def test_a_server_not_allowed_for_the_issuer_or_tenant_is_refused(tmp_path: Path, fhir: FaultServer) -> None:
    wired = services(tmp_path, {ISS: {"hospital-a": [fhir.origin]}})
    assert "not an allowed" in refused(wired, fhir.url("/fhir"), caller=Caller("https://evil.example.org", None, "j"))
    assert "not an allowed" in refused(wired, fhir.url("/fhir"), caller=Caller(ISS, "hospital-b", "j"))
    assert fhir.requests == []
    assert served(call(wired, fhir.url("/fhir"), caller=CALLER)) == ["test-born-before"]  # control


def test_a_refused_server_only_degrades_keys_that_are_not_required(tmp_path: Path, fhir: FaultServer) -> None:
    wired = services(tmp_path, {})  # nothing allowed
    evaluation = call(wired, fhir.url("/fhir"), {"patient": PATIENT})  # observations (optional) is missing
    assert served(evaluation) == ["test-born-before"]
    assert fhir.requests == []


def test_a_next_link_in_the_prefetch_is_never_followed_to_another_host(
        tmp_path: Path, fhir: FaultServer, other: FaultServer, loopback_only: list[str]) -> None:
    # The CDS client (or whoever forged the prefetch) points a next link at an internal address and at
    # another local origin: neither is contacted, and the data is marked incomplete.
    wired = services(tmp_path, {ISS: [fhir.origin]})
    for next_url in ("http://169.254.169.254/latest/meta-data", other.url("/fhir/Observation?page=2")):
        bundle = searchset(observation(1), next_url=next_url)
        evaluation = call(wired, fhir.url("/fhir"), {"patient": PATIENT, "observations": bundle})
        assert served(evaluation) == ["test-born-before"]
    assert other.requests == [] and fhir.requests == []
    assert loopback_only == []


# --- Through the whole app (development mode: no JWT yet; loopback allowed, private addresses not) ---

def post(client: FlaskClient, body: dict[str, Any]) -> Any:
    return client.post(f"/cds-services/{SERVICE}", data=orjson.dumps(body), content_type="application/json")


@pytest.fixture
def dev_client(tmp_path: Path) -> FlaskClient:
    settings = Settings(mode="development", data_dir=tmp_path, catalogue_dir=TESTS / "catalogue_for_tests",
                        fhir_timeout_s=1.0)
    app = create_app(settings, registry=TEST_REGISTRY, clock=FixedClock(NOW), ids=SequentialIds())
    return app.test_client()


def test_the_app_answers_412_for_a_private_fhir_server_and_200_for_a_local_one(
        dev_client: FlaskClient, fhir: FaultServer, loopback_only: list[str]) -> None:
    body = request(None, "http://10.0.0.5:8080/fhir").dump()
    response = post(dev_client, body)
    assert response.status_code == 412
    assert response.json["issue"][0]["code"] == "incomplete"
    assert "'patient'" in response.json["issue"][0]["diagnostics"]
    assert TOKEN not in response.get_data(as_text=True)
    assert loopback_only == []
    control = post(dev_client, request(None, fhir.url("/fhir")).dump())
    assert control.status_code == 200
    assert [card["summary"] for card in control.json["cards"]] == ["Test card: born in 1950, before the cut-off"]
