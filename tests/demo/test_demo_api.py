"""The /demo routes: development only (404 in production), the token endpoint, the FHIR proxy, the summary."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask

from cds_service.app import create_app
from cds_service.auth.demo import DEMO_ISSUER
from cds_service.config import IssuerConfig, Settings, SettingsError
from cds_service.support.clock import FixedClock
from cds_service.support.ids import SequentialIds
from tests.conftest import NOW, settings_for
from tests.demo.conftest import RunningDev, get_json
from tests.security.tokens import ISSUER, ec_key, write_jwks
from tests.support.demo_fixtures import COURSE_ID

BASE = "http://127.0.0.1:8080"
STATIC = Path(__file__).resolve().parents[2] / "cds_service" / "api" / "static" / "demo"
DEMO_ROUTES = [
    ("GET", "/demo"), ("GET", "/demo/"), ("GET", "/demo/config"), ("POST", "/demo/token"),
    ("GET", "/demo/fhir/Patient"), ("POST", "/demo/summary"), ("GET", "/demo/static/demo.js"),
]


def production_settings(tmp_path: Path, **overrides: Any) -> Settings:
    jwks = write_jwks(tmp_path / "ehr-jwks.json", ec_key())
    values: dict[str, Any] = {"mode": "production", "data_dir": tmp_path / "var",
                              "jwt_issuers": (IssuerConfig(ISSUER, jwks_file=jwks),)} | overrides
    return Settings(**values)


def dev_app(tmp_path: Path, **overrides: Any) -> Flask:
    return create_app(settings_for(tmp_path, **overrides), clock=FixedClock(NOW), ids=SequentialIds())


@pytest.mark.parametrize(("method", "path"), DEMO_ROUTES)
def test_production_has_no_demo(tmp_path: Path, method: str, path: str) -> None:
    app = create_app(production_settings(tmp_path), clock=FixedClock(NOW))
    response = app.test_client().open(path, method=method, json={})
    assert response.status_code == 404
    assert not any(rule.rule.startswith("/demo") for rule in app.url_map.iter_rules())


def test_production_refuses_a_demo_fhir_server(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="CDS_DEMO_FHIR_URL"):  # refused when the settings are built
        create_app(production_settings(tmp_path, demo_fhir_url="http://127.0.0.1:8090/fhir"), clock=FixedClock(NOW))


def test_page_and_its_files_are_served_with_a_strict_policy(tmp_path: Path) -> None:
    client = dev_app(tmp_path).test_client()
    with client.get("/demo") as page:
        assert page.status_code == 200
        assert page.mimetype == "text/html"
        policy = page.headers["Content-Security-Policy"]
        html = page.get_data(as_text=True)
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "'unsafe-inline'" not in policy
    assets = re.findall(r'(?:src|href)="(/demo/static/[^"]+)"', html)
    assert sorted(assets) == ["/demo/static/demo.css", "/demo/static/demo.js", "/demo/static/markdown.js"]
    for asset in assets:
        with client.get(asset) as served:
            assert served.status_code == 200, asset
    assert "<script>" not in html and not re.search(r"\son[a-z]+=", html)  # no inline script or handler
    for script in ("demo.js", "markdown.js"):
        source = (STATIC / script).read_text(encoding="utf-8")
        assert not re.search(r"\.(inner|outer)HTML\s*=|insertAdjacentHTML|document\.write", source), script


def test_config_names_the_service_and_the_demo_fhir_server(tmp_path: Path) -> None:
    client = dev_app(tmp_path, demo_fhir_url="http://127.0.0.1:8090/fhir").test_client()
    config = client.get("/demo/config").get_json()
    assert config["serviceBase"] == BASE
    assert config["fhirServer"] == "http://127.0.0.1:8090/fhir"
    assert config["fhirProxy"] == "/demo/fhir"


@pytest.mark.parametrize("path", ["/cds-services", "/cds-services/nxp2-myositis",
                                  "/cds-services/nxp2-myositis/feedback"])
def test_token_is_a_short_lived_demo_jwt_for_exactly_that_endpoint(tmp_path: Path, path: str) -> None:
    client = dev_app(tmp_path).test_client()
    answer = client.post("/demo/token", json={"aud": BASE + path})
    assert answer.status_code == 200
    token = answer.get_json()["jwt"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == DEMO_ISSUER
    assert claims["aud"] == BASE + path
    assert claims["exp"] - claims["iat"] == answer.get_json()["expiresIn"] == 60
    assert jwt.get_unverified_header(token)["alg"] == "ES384"


def test_the_service_accepts_the_token_once_and_only_for_its_aud(tmp_path: Path) -> None:
    client = dev_app(tmp_path).test_client()

    def token(path: str) -> dict[str, str]:
        jwt_text = client.post("/demo/token", json={"aud": BASE + path}).get_json()["jwt"]
        return {"Authorization": f"Bearer {jwt_text}"}

    discovery = token("/cds-services")
    assert client.get("/cds-services", headers=discovery).status_code == 200
    assert client.get("/cds-services", headers=discovery).status_code == 401  # replayed jti
    assert client.get("/cds-services", headers=token("/cds-services/nxp2-myositis")).status_code == 401


@pytest.mark.parametrize("body", [
    {"aud": "https://evil.example.org/cds-services"},
    {"aud": BASE + "/cds-services/unknown-service"},
    {"aud": BASE + "/cds-services/nxp2-myositis/../nxp2-myositis"},
    {"aud": BASE + "/demo/token"},
    {"aud": ["list"]},
    {},
    [],
])
def test_token_refuses_any_other_audience(tmp_path: Path, body: Any) -> None:
    answer = dev_app(tmp_path).test_client().post("/demo/token", json=body)
    assert answer.status_code == 400
    assert answer.get_json()["resourceType"] == "OperationOutcome"


def test_token_needs_json(tmp_path: Path) -> None:
    answer = dev_app(tmp_path).test_client().post("/demo/token", data="aud=x")
    assert answer.status_code == 415


def test_proxy_without_a_demo_fhir_server_says_so(tmp_path: Path) -> None:
    answer = dev_app(tmp_path).test_client().get("/demo/fhir/Patient")
    assert answer.status_code == 503
    assert "CDS_DEMO_FHIR_URL" in answer.get_json()["issue"][0]["diagnostics"]


def test_proxy_reads_the_demo_fhir_server(demo_stack: RunningDev) -> None:
    status, bundle = get_json(f"{demo_stack.base_url}/demo/fhir/Patient?_count=500")
    assert status == 200
    assert bundle["resourceType"] == "Bundle"
    ids = {entry["resource"]["id"] for entry in bundle["entry"]}
    assert ids == {path.stem for path in (STATIC.parents[3] / "fhir_fixtures").glob("*.json")} | {COURSE_ID}
    status, patient = get_json(f"{demo_stack.base_url}/demo/fhir/Patient/jdm-nxp2-gi-perforation-today")
    assert status == 200
    assert patient["name"][0]["given"]  # the public sandbox cannot load a Patient without one
    assert "JDM anti-NXP2 GI perforation today" in patient["text"]["div"]
    status, _ = get_json(f"{demo_stack.base_url}/demo/fhir/Patient/no-such-patient")
    assert status == 404


@pytest.mark.parametrize("path", [
    "Patient/../../admin", "Patient/a/b", "patient", "..%2Fmetadata", "Patient/%2e%2e",
    "http:%2F%2Fexample.org%2Ffhir%2FPatient", "Patient/" + "x" * 65,
])
def test_proxy_forwards_only_reads_and_searches(demo_stack: RunningDev, path: str) -> None:
    status, body = get_json(f"{demo_stack.base_url}/demo/fhir/{path}")
    assert status in (400, 404)
    if status == 400:
        assert body["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_proxy_is_read_only(demo_stack: RunningDev, method: str) -> None:
    request = urllib.request.Request(f"{demo_stack.base_url}/demo/fhir/Patient/jdm-nxp2-gi-perforation-today",
                                     data=b"{}", method=method, headers={"Content-Type": "application/fhir+json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=5)
    refused.value.close()
    assert refused.value.code == 405


def _fixture(stem: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    bundle = json.loads((STATIC.parents[3] / "fhir_fixtures" / f"{stem}.json").read_text(encoding="utf-8"))
    resources = [entry["resource"] for entry in bundle["entry"]]
    return resources[0], resources[1:]


@pytest.mark.parametrize("body", [
    {}, {"patient": {"resourceType": "Observation"}, "resources": []},
    {"patient": {"resourceType": "Patient", "id": "p"}, "resources": {}},
    {"patient": {"resourceType": "Patient", "id": "p"}, "resources": ["text"]},
])
def test_summary_refuses_bad_bodies(tmp_path: Path, body: Any) -> None:
    answer = dev_app(tmp_path).test_client().post("/demo/summary", json=body)
    assert answer.status_code == 400


def test_summary_of_a_patient_without_data(tmp_path: Path) -> None:
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "2018-01-01", "gender": "female"}
    summary = dev_app(tmp_path).test_client().post("/demo/summary", json={"patient": patient, "resources": []})
    assert summary.status_code == 200
    body = summary.get_json()
    assert body["patientId"] == "p1"
    assert body["antibody"]["status"] is None
    assert body["problems"] == []
    assert body["labs"]["ck"] == {"latest": None, "series": [], "unit": None}
    assert body["growth"] is None


def test_summary_is_what_the_facts_layer_reads(tmp_path: Path) -> None:
    client = dev_app(tmp_path).test_client()
    patient, resources = _fixture("jdm-nxp2-mas-pattern-with-fever")
    body = client.post("/demo/summary", json={"patient": patient, "resources": resources}).get_json()
    assert body["antibody"]["status"] == "positive"
    assert body["antibody"]["firstPositive"]["date"].startswith("2026-06-07")
    assert [(p["concept"], p["display"], p["current"]) for p in body["problems"]] == [
        ("myositis", "Juvenile dermatomyositis", True),
        ("juvenile-dermatomyositis", "Juvenile dermatomyositis", True)]  # JDM coded (issue 14, facts side)
    assert body["onset"]["date"].startswith("2026-05-28")
    assert body["labs"]["ferritin"]["latest"]["value"] == 900
    assert body["labs"]["ferritin"]["series"] == [{"date": body["labs"]["ferritin"]["latest"]["date"], "value": 900}]
    assert body["labs"]["ferritin"]["unit"] == "ng/mL"

    patient, resources = _fixture("jdm-nxp2-bmi-12-5-z-below-minus-2")
    growth = client.post("/demo/summary", json={"patient": patient, "resources": resources}).get_json()["growth"]
    assert growth["bmi"] == 12.5
    assert growth["z"] < -2
    assert growth["reference"]
