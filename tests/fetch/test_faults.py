"""Faults of a FHIR server, injected by a local server of our own: each ends in a clear 412 or a
documented degraded result within the time budget (the elapsed time is asserted), never a hang or a 500.
"""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from cds_service.fhir_client.client import Deadline, FhirClient, Limits
from cds_service.fhir_client.errors import FhirRefused
from cds_service.fhir_client.policy import FhirPolicy
from cds_service.fhir_client.transport import PinnedAdapter
from cds_service.hooks.caller import Caller
from cds_service.hooks.errors import PrefetchUnavailable
from cds_service.hooks.prefetch import FhirAccess, ResolvedData, resolve
from tests.fetch.helpers import ISS, PATIENT, TEMPLATES, TOKEN, access, observation, request, searchset
from tests.support.fault_server import FaultHandler, FaultServer
from tests.support.fhir_server import free_port

BUDGET = 0.5
# Slack for thread start-up and a loaded 2-core CI machine; a hang would take the 5 s the routes sleep.
SLACK = 0.4
REQUIRED = ["patient", "observations"]
CALLER = Caller(issuer=ISS, tenant=None, jti="j1")

Route = Callable[[FaultHandler], None]


def ok(document: Any) -> Route:
    return lambda h: h.send_json(document)


def slow(seconds: float, document: Any) -> Route:
    def route(h: FaultHandler) -> None:
        h.pause(seconds)
        h.send_json(document)
    return route


def serve(fault: FaultServer, observations: Route | None = None, patient: Route | None = None,
          conditions: Route | None = None) -> None:
    fault.routes["/fhir/Patient/p1"] = patient or ok(PATIENT)
    fault.routes["/fhir/Observation"] = observations or ok(searchset(observation(1)))
    fault.routes["/fhir/Condition"] = conditions or ok(searchset())


def fetch(fault: FaultServer, prefetch: dict[str, Any] | None = None, budget: float = BUDGET,
          required: list[str] = REQUIRED, fhir_access: FhirAccess | None = None, **env: str) -> ResolvedData:
    fhir_access = fhir_access or access(budget=budget, servers={ISS: [fault.origin]}, **env)
    return resolve(TEMPLATES, required, request(prefetch, fault.url("/fhir")), CALLER, fhir_access)


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    try:
        result: Any = call()
    except PrefetchUnavailable as error:
        result = error
    return result, time.monotonic() - started


def refused_key(result: Any) -> tuple[str, str]:
    assert isinstance(result, PrefetchUnavailable), f"expected a 412, got {result!r}"
    return result.key, result.reason


# --- The control: a well-behaved server ----------------------------------------------------------------

def test_a_well_behaved_server_gives_every_key_with_the_token_sent_to_it(fault: FaultServer) -> None:
    serve(fault)
    data, elapsed = timed(lambda: fetch(fault))
    assert data.patient == PATIENT
    assert [r["id"] for r in data.resources] == ["o1"]
    assert sorted(data.fetched) == ["conditions", "observations", "patient"]
    assert elapsed < BUDGET
    assert {r.headers.get("authorization") for r in fault.requests} == {f"Bearer {TOKEN}"}
    assert {r.path for r in fault.requests} == {"/fhir/Patient/p1", "/fhir/Observation?patient=p1",
                                               "/fhir/Condition?patient=p1"}
    assert all(r.headers["accept"].startswith("application/fhir+json") for r in fault.requests)


def test_keys_are_fetched_concurrently(fault: FaultServer) -> None:
    serve(fault, observations=slow(0.3, searchset()), patient=slow(0.3, PATIENT), conditions=slow(0.3, searchset()))
    data, elapsed = timed(lambda: fetch(fault, budget=2.0))
    assert len(data.fetched) == 3
    assert elapsed < 0.3 * 2  # one after the other would take 0.9 s


# --- Timeouts ------------------------------------------------------------------------------------------

def test_a_required_key_that_times_out_is_412_within_the_budget(fault: FaultServer) -> None:
    serve(fault, observations=slow(5, searchset()))
    result, elapsed = timed(lambda: fetch(fault))
    key, reason = refused_key(result)
    assert key == "observations" and "time" in reason
    assert BUDGET * 0.8 < elapsed < BUDGET + SLACK


def test_an_optional_key_that_times_out_is_unavailable_within_the_budget(fault: FaultServer) -> None:
    serve(fault, conditions=slow(5, searchset()))
    data, elapsed = timed(lambda: fetch(fault))
    assert isinstance(data, ResolvedData)
    assert data.unavailable == ("conditions",)
    assert elapsed < BUDGET + SLACK


def test_a_patient_read_that_times_out_is_412(fault: FaultServer) -> None:
    serve(fault, patient=slow(5, PATIENT))
    result, elapsed = timed(lambda: fetch(fault))
    assert refused_key(result)[0] == "patient"
    assert elapsed < BUDGET + SLACK


def test_a_server_that_drips_its_body_is_cut_at_the_deadline(fault: FaultServer) -> None:
    def drip(h: FaultHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/fhir+json")
        h.send_header("Content-Length", "1000")
        h.end_headers()
        for _ in range(1000):
            h.wfile.write(b" ")
            h.wfile.flush()
            h.pause(0.02)
    serve(fault, observations=drip)
    result, elapsed = timed(lambda: fetch(fault))
    assert refused_key(result)[0] == "observations"
    assert elapsed < BUDGET + SLACK


# --- Error statuses and bad bodies ---------------------------------------------------------------------

@pytest.mark.parametrize(("route", "expected"), [
    (lambda h: h.send_json({"resourceType": "OperationOutcome", "issue": []}, status=500), "answered 500"),
    (lambda h: h.send_json({"resourceType": "OperationOutcome", "issue": []}, status=503), "answered 503"),
    (lambda h: h.send_json({"resourceType": "OperationOutcome", "issue": []}, status=401), "access token"),
    (lambda h: h.send_json({"resourceType": "OperationOutcome", "issue": []}, status=403), "access token"),
    (lambda h: h.send_json({"resourceType": "OperationOutcome", "issue": []}, status=400), "refused the query"),
    (lambda h: h.send_body(b'{"resourceType": "Bundle", "entry": [', 200), "not valid JSON"),
    (lambda h: h.send_body(b"<html>login</html>", 200, "text/html"), "FHIR JSON"),
    (lambda h: h.send_json(["not", "a", "resource"]), "not a FHIR resource"),
    (lambda h: h.send_json({"resourceType": "OperationOutcome", "issue": []}), "OperationOutcome"),
    (lambda h: h.send_json(PATIENT), "not a Bundle"),
    (lambda h: h.send_body(b"", 204), "instead of 200"),
])
def test_a_failing_required_search_is_412_naming_the_key(fault: FaultServer, route: Route, expected: str) -> None:
    serve(fault, observations=route)
    result, elapsed = timed(lambda: fetch(fault))
    key, reason = refused_key(result)
    assert key == "observations" and expected in reason
    assert elapsed < BUDGET


def test_a_failing_optional_search_is_unavailable(fault: FaultServer) -> None:
    serve(fault, conditions=lambda h: h.send_json({"resourceType": "OperationOutcome"}, status=500))
    data = fetch(fault)
    assert (data.unavailable, sorted(data.fetched)) == (("conditions",), ["observations", "patient"])


def test_a_missing_patient_is_412(fault: FaultServer) -> None:
    serve(fault, patient=lambda h: h.send_json({"resourceType": "OperationOutcome", "issue": []}, status=404))
    key, reason = refused_key(timed(lambda: fetch(fault))[0])
    assert key == "patient" and "404" in reason


def test_a_401_is_412_and_the_token_is_never_logged_or_echoed(fault: FaultServer, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    serve(fault, patient=lambda h: h.send_json({"resourceType": "OperationOutcome", "issue": []}, status=401))
    result = timed(lambda: fetch(fault))[0]
    assert refused_key(result)[0] == "patient"
    assert TOKEN not in str(result) and TOKEN not in caplog.text
    assert "patient=p1" not in caplog.text  # request lines, with patient ids in them, are not logged either


def test_a_closed_port_is_unavailable_at_once() -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # free: nothing listens there
    fhir_access = access(servers={ISS: [closed]})
    req = request(None, f"{closed}/fhir")
    result, elapsed = timed(lambda: resolve(TEMPLATES, REQUIRED, req, CALLER, fhir_access))
    key, reason = refused_key(result)
    assert key == "patient" and "cannot be reached" in reason
    assert elapsed < BUDGET


# --- Size limits ---------------------------------------------------------------------------------------

def test_a_declared_oversized_body_is_refused_before_reading(fault: FaultServer) -> None:
    def huge(h: FaultHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/fhir+json")
        h.send_header("Content-Length", str(50_000_000))
        h.end_headers()
        h.wfile.write(b"{" + b" " * 65536)
    serve(fault, observations=huge)
    result, elapsed = timed(lambda: fetch(fault, CDS_FHIR_MAX_RESPONSE_BYTES="100000"))
    assert "larger than 100000 bytes" in refused_key(result)[1]
    assert elapsed < BUDGET


def test_an_undeclared_oversized_body_stops_being_read_past_the_limit(fault: FaultServer) -> None:
    def endless(h: FaultHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/fhir+json")
        h.send_header("Connection", "close")
        h.end_headers()
        block = b" " * 65536
        for _ in range(800):  # 50 MB if we read it all
            if h.fault.stopping.is_set():
                return
            h.wfile.write(block)
    serve(fault, observations=endless)
    result, elapsed = timed(lambda: fetch(fault, budget=2.0, CDS_FHIR_MAX_RESPONSE_BYTES="200000"))
    assert "larger than 200000 bytes" in refused_key(result)[1]
    assert elapsed < 1.0


def test_the_size_limit_applies_to_the_decompressed_body(fault: FaultServer) -> None:
    bomb = gzip.compress(b'{"resourceType": "Bundle", "entry": []' + b" " * 20_000_000 + b"}")
    serve(fault, observations=lambda h: h.send_body(bomb, headers={"Content-Encoding": "gzip"}))
    result, elapsed = timed(lambda: fetch(fault, budget=2.0, CDS_FHIR_MAX_RESPONSE_BYTES="1000000"))
    assert len(bomb) < 1_000_000
    assert "larger than 1000000 bytes" in refused_key(result)[1]
    assert elapsed < 1.0


# --- Paging --------------------------------------------------------------------------------------------

def paged(fault: FaultServer, pages: int, pause: float = 0.0, relative: bool = False) -> Route:
    """Page n holds observation n and links to page n + 1, up to `pages` pages."""
    def route(h: FaultHandler) -> None:
        number = int(h.path.rsplit("page=", 1)[1]) if "page=" in h.path else 1
        if pause:
            h.pause(pause)
        link = f"/fhir/Observation?page={number + 1}"
        next_url = None if number >= pages else (link if relative else fault.url(link))
        h.send_json(searchset(observation(number), next_url=next_url))
    return route


def test_next_links_on_the_same_origin_are_followed(fault: FaultServer) -> None:
    serve(fault, observations=paged(fault, 4))
    data = fetch(fault)
    assert [r["id"] for r in data.resources] == ["o1", "o2", "o3", "o4"]
    assert data.incomplete == ()


def test_relative_next_links_are_followed_on_the_same_origin(fault: FaultServer) -> None:
    serve(fault, observations=paged(fault, 3, relative=True))
    assert [r["id"] for r in fetch(fault).resources] == ["o1", "o2", "o3"]


def test_endless_paging_stops_at_the_page_limit_as_incomplete(fault: FaultServer) -> None:
    serve(fault, observations=paged(fault, 10_000))
    data, elapsed = timed(lambda: fetch(fault, CDS_FHIR_MAX_PAGES="5"))
    assert len(data.resources) == 5
    assert data.incomplete == ("observations",)
    assert elapsed < BUDGET


def test_slow_endless_paging_stops_at_the_deadline_as_incomplete(fault: FaultServer) -> None:
    serve(fault, observations=paged(fault, 10_000, pause=0.12))
    data, elapsed = timed(lambda: fetch(fault, CDS_FHIR_MAX_PAGES="1000"))
    assert isinstance(data, ResolvedData)
    assert 1 <= len(data.resources) <= 5
    assert data.incomplete == ("observations",)
    assert elapsed < BUDGET + SLACK


def test_the_entry_limit_truncates_as_incomplete(fault: FaultServer) -> None:
    serve(fault, observations=ok(searchset(*(observation(n) for n in range(30)))))
    data = fetch(fault, CDS_FHIR_MAX_ENTRIES="10")
    assert len(data.resources) == 10
    assert data.incomplete == ("observations",)


def test_a_next_link_that_repeats_a_page_stops(fault: FaultServer) -> None:
    serve(fault, observations=lambda h: h.send_json(
        searchset(observation(1), next_url=fault.url("/fhir/Observation?patient=p1"))))
    data = fetch(fault)
    assert (len(data.resources), data.incomplete) == (1, ("observations",))


def test_a_next_link_to_another_origin_is_not_followed(fault: FaultServer, other: FaultServer) -> None:
    other.routes["/fhir/Observation"] = ok(searchset(observation(99)))
    serve(fault, observations=ok(searchset(observation(1), next_url=other.url("/fhir/Observation?page=2"))))
    data = fetch(fault)
    assert [r["id"] for r in data.resources] == ["o1"]
    assert data.incomplete == ("observations",)
    assert other.requests == []


def test_a_sent_first_page_is_continued_from_fhir_server(fault: FaultServer) -> None:
    # The public sandbox's case: it fills prefetch with the first page and leaves the next link.
    serve(fault, observations=paged(fault, 3))
    first = searchset(observation(1), next_url=fault.url("/fhir/Observation?page=2"))
    data = fetch(fault, {"patient": PATIENT, "observations": first, "conditions": None})
    assert [r["id"] for r in data.resources] == ["o1", "o2", "o3"]
    assert (data.fetched, data.incomplete) == (("observations",), ())
    assert [r.path for r in fault.requests] == ["/fhir/Observation?page=2", "/fhir/Observation?page=3"]


def test_a_continuation_that_fails_keeps_the_first_page_as_incomplete(fault: FaultServer) -> None:
    serve(fault, observations=lambda h: h.send_json({"resourceType": "OperationOutcome"}, status=500))
    first = searchset(observation(1), next_url=fault.url("/fhir/Observation?page=2"))
    data, elapsed = timed(lambda: fetch(fault, {"patient": PATIENT, "observations": first, "conditions": None}))
    assert [r["id"] for r in data.resources] == ["o1"]
    assert data.incomplete == ("observations",)
    assert elapsed < BUDGET


# --- Redirects and the origin lock ---------------------------------------------------------------------

def test_a_redirect_to_another_host_is_not_followed_and_gets_no_token(fault: FaultServer, other: FaultServer) -> None:
    other.routes["/fhir/Observation"] = ok(searchset(observation(99)))
    serve(fault, observations=lambda h: h.send_body(
        b"", 302, headers={"Location": other.url("/fhir/Observation?patient=p1")}))
    result, elapsed = timed(lambda: fetch(fault))
    key, reason = refused_key(result)
    assert key == "observations" and "redirect" in reason
    assert other.requests == []
    assert elapsed < BUDGET


def test_a_redirect_on_the_same_origin_is_not_followed_either(fault: FaultServer) -> None:
    serve(fault, observations=lambda h: h.send_body(b"", 301, headers={"Location": "/fhir/Observation?x=1"}))
    assert "redirect" in refused_key(timed(lambda: fetch(fault))[0])[1]
    observation_paths = [r.path for r in fault.requests if r.path.startswith("/fhir/Observation")]
    assert observation_paths == ["/fhir/Observation?patient=p1"]


def test_the_client_and_its_adapter_refuse_every_other_origin(fault: FaultServer, other: FaultServer) -> None:
    policy = FhirPolicy([(ISS, "*", (fault.origin,))], allowed_networks=["127.0.0.1/32"])
    target = policy.check(fault.url("/fhir"), issuer=ISS, tenant=None, with_token=True)
    with FhirClient(target, TOKEN, Limits()) as client, pytest.raises(FhirRefused):
        client.read(other.url("/fhir/Patient/p1"), Deadline(1.0))
    session = requests.Session()
    session.mount("http://", PinnedAdapter(target, 1))
    with pytest.raises(FhirRefused):
        session.get(other.url("/fhir/Patient/p1"), headers={"Authorization": "Bearer x"}, timeout=1)
    assert other.requests == []


def test_connections_go_to_the_checked_address_not_a_new_dns_answer(
        fault: FaultServer, loopback_only: list[str]) -> None:
    # fhir.pinned.test exists only in the policy's resolver: the client must connect to the address the
    # policy checked, sending the host name in the Host header, and never resolve the name again.
    name = "fhir.pinned.test"
    server = f"http://{name}:{fault.port}"
    policy = FhirPolicy([(ISS, "*", (server,))], allowed_networks=["127.0.0.1/32"],
                        resolver=lambda host, port: ["127.0.0.1"] if host == name else [])
    serve(fault)
    fhir_access = FhirAccess(policy=policy, budget_s=BUDGET)
    data = resolve(TEMPLATES, REQUIRED, request(None, f"{server}/fhir"), CALLER, fhir_access)
    assert data.patient == PATIENT
    assert {r.headers["host"] for r in fault.requests} == {f"{name}:{fault.port}"}
    assert set(loopback_only) == {"127.0.0.1"}
