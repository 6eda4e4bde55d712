"""Operations: /healthz checks the store, /metrics counts by route, card and outcome, one JSON log line a request."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.app import create_app
from cds_service.auth.demo import sign_demo_jwt
from cds_service.storage.feedback import StoreError
from tests.conftest import NOW, TESTS, hook_request, settings_for
from tests.rules_for_tests import TEST_REGISTRY

CALL = "/cds-services/test-service"


def post(client: FlaskClient, url: str, body: Any) -> Any:
    return client.post(url, data=orjson.dumps(body), content_type="application/json")


def samples(client: FlaskClient) -> dict[str, float]:
    """Return the /metrics samples as {'name{labels}': value}, labels sorted as prometheus_client writes them."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    values = {}
    for line in response.get_data(as_text=True).splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


# --- /healthz ------------------------------------------------------------------------------------------


def test_healthz_reports_the_store(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok", "checks": {"feedbackStore": "ok"}})


def test_healthz_is_503_when_the_store_cannot_be_read(client: FlaskClient) -> None:
    store = client.application.extensions["nxp2_cds"].store
    Path(store.path).unlink()  # the file is recreated empty on connect: the table is gone
    Path(store.path).mkdir()  # and now it cannot even be opened
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "checks": {"feedbackStore": "unreachable"}}


def test_healthz_does_not_hide_a_store_error(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    store = client.application.extensions["nxp2_cds"].store

    def broken() -> int:
        raise StoreError("cannot read feedback store: disk I/O error")

    monkeypatch.setattr(store, "count", broken)
    assert client.get("/healthz").status_code == 503


# --- /metrics ------------------------------------------------------------------------------------------


def test_metrics_count_requests_by_route_template_and_status(client: FlaskClient) -> None:
    for _ in range(3):
        client.get("/cds-services")
    post(client, CALL, hook_request())
    post(client, "/cds-services/nope", hook_request())
    client.get("/no/such/path")
    values = samples(client)
    assert values['cds_http_requests_total{method="GET",route="/cds-services",status="200"}'] == 3
    assert values['cds_http_requests_total{method="POST",route="/cds-services/<service_id>",status="200"}'] == 1
    assert values['cds_http_requests_total{method="POST",route="/cds-services/<service_id>",status="404"}'] == 1
    assert values['cds_http_requests_total{method="GET",route="<unmatched>",status="404"}'] == 1
    assert values['cds_http_request_duration_seconds_count{method="GET",route="/cds-services"}'] == 3
    assert not any("nope" in name or "no/such" in name for name in values), "paths must not become labels"


def test_metrics_count_cards_by_card_id_and_feedback_by_outcome(client: FlaskClient) -> None:
    card = post(client, CALL, hook_request()).json["cards"][0]
    post(client, CALL, hook_request())
    post(client, CALL, hook_request({"resourceType": "Patient", "id": "young", "birthDate": "2001-01-01"}))
    accepted = {"card": card["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": "s"}],
                "outcomeTimestamp": "2026-11-24T09:01:00Z"}
    overridden = {"card": card["uuid"], "outcome": "overridden", "overrideReason": {"userComment": "no"},
                  "outcomeTimestamp": "2026-11-24T09:02:00Z"}
    post(client, f"{CALL}/feedback", {"feedback": [accepted, overridden]})
    post(client, f"{CALL}/feedback", {"feedback": [overridden | {"outcomeTimestamp": "2026-11-24T09:03:00Z"}]})
    values = samples(client)
    assert values['cds_cards_emitted_total{card_id="test-born-before",service="test-service"}'] == 2
    assert values['cds_feedback_items_total{outcome="accepted",service="test-service"}'] == 1
    assert values['cds_feedback_items_total{outcome="overridden",service="test-service"}'] == 2


def test_each_app_counts_only_its_own_requests(tmp_path: Path) -> None:
    def app() -> Flask:
        return create_app(settings_for(tmp_path, catalogue_dir=TESTS / "catalogue_for_tests"),
                          registry=TEST_REGISTRY)

    first, second = app().test_client(), app().test_client()
    first.get("/cds-services")
    assert 'cds_http_requests_total{method="GET",route="/cds-services",status="200"}' not in samples(second)


def test_metrics_can_be_switched_off(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path, catalogue_dir=TESTS / "catalogue_for_tests", metrics_enabled=False),
                     registry=TEST_REGISTRY)
    response = app.test_client().get("/metrics")
    assert (response.status_code, response.json["resourceType"]) == (404, "OperationOutcome")


# --- JSON logs -----------------------------------------------------------------------------------------


def log_lines(captured: str) -> list[dict[str, Any]]:
    """Parse stderr: every line must be one JSON object."""
    return [json.loads(line) for line in captured.splitlines() if line.strip()]


def request_lines(captured: str) -> list[dict[str, Any]]:
    return [line for line in log_lines(captured) if line["logger"] == "cds_service.request"]


def test_a_service_call_logs_one_json_line_keyed_by_hook_instance(
    client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    body = hook_request(
        fhirServer="https://ehr.example.org/fhir",
        fhirAuthorization={"access_token": "secret-access-token-123", "token_type": "Bearer", "expires_in": 300,
                           "scope": "patient/*.read", "subject": "cds-service", "patient": "p1"},
    )
    body["prefetch"]["observations"] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
        "resourceType": "Observation", "id": "ck1", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2157-6"}]},
        "valueQuantity": {"value": 18734, "unit": "U/L"}}}]}
    settings = client.application.config["SETTINGS"]
    token = sign_demo_jwt(settings, settings.public_base_url + CALL, NOW)  # a real, verified development JWT
    response = client.post(CALL, data=orjson.dumps(body), content_type="application/json",
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    captured = capsys.readouterr().err
    (line,) = request_lines(captured)
    assert {"timestamp", "level", "logger", "message"} <= set(line)
    assert line["level"] == "INFO" and line["message"] == "request"
    assert line["hookInstance"] == "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"
    assert (line["route"], line["method"], line["status"]) == ("/cds-services/<service_id>", "POST", 200)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["cards"] == ["test-born-before"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", line["timestamp"])
    # Nothing from the body or the headers: no names, values, tokens or resource ids.
    for secret in ("Ada", "Test", "1950", "18734", "ck1", "secret-access-token-123", token,
                   "ehr.example.org", "Practitioner/123"):
        assert secret not in captured, secret


def test_the_log_line_carries_the_verified_jwt_ids_when_present(
    test_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    from flask import g

    @test_app.before_request
    def pretend_verified() -> None:  # what the security layer sets after verifying a JWT
        g.jwt_iss, g.jwt_tenant, g.jwt_jti = "https://ehr.example.org", "tenant-7", "jti-42"

    capsys.readouterr()
    test_app.test_client().get("/cds-services")
    (line,) = request_lines(capsys.readouterr().err)
    assert (line["iss"], line["tenant"], line["jti"]) == ("https://ehr.example.org", "tenant-7", "jti-42")


def test_error_responses_are_logged_without_their_cause(
    client: FlaskClient, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import cds_service.hooks.evaluate as evaluate_module

    def explode(*_: Any, **__: Any) -> Any:
        raise RuntimeError("patient value 812 ng/mL")

    monkeypatch.setattr(evaluate_module, "build_facts", explode)
    capsys.readouterr()
    assert post(client, CALL, hook_request()).status_code == 500
    captured = capsys.readouterr().err
    lines = log_lines(captured)
    assert [line["status"] for line in lines if line["logger"] == "cds_service.request"] == [500]
    assert any(line["level"] == "ERROR" and "RuntimeError" in line["message"] for line in lines)
    assert "812" not in captured


def test_creating_many_apps_installs_one_log_handler(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    apps = [create_app(settings_for(tmp_path / str(n), catalogue_dir=TESTS / "catalogue_for_tests"),
                       registry=TEST_REGISTRY) for n in range(3)]
    capsys.readouterr()
    apps[-1].test_client().get("/healthz")
    assert len(request_lines(capsys.readouterr().err)) == 1


def test_an_invented_method_does_not_become_a_label(client: FlaskClient) -> None:
    for method in ("BREW", "WHEN", "XYZZY"):
        assert client.open("/cds-services", method=method).status_code == 405
    values = samples(client)
    assert values['cds_http_requests_total{method="OTHER",route="<unmatched>",status="405"}'] == 3
    assert not any("BREW" in name for name in values)
