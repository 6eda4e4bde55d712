"""Discovery is rendered from the catalogue, with private fields stripped."""

from __future__ import annotations

from flask import Flask


def test_discovery_lists_the_real_service(real_app: Flask) -> None:
    response = real_app.test_client().get("/cds-services")
    assert response.status_code == 200
    (service,) = response.json["services"]
    assert service["id"] == "nxp2-myositis"
    assert service["hook"] == "patient-view"
    assert {"title", "description", "usageRequirements", "prefetch"} <= set(service)
    assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    assert not {"rules", "required_prefetch", "override_reasons"} & set(service)


def test_prefetch_templates_use_only_the_cds_hooks_query_subset(real_app: Flask) -> None:
    (service,) = real_app.test_client().get("/cds-services").json["services"]
    for template in service["prefetch"].values():
        assert "today()" not in template
        assert "{{context.patientId}}" in template


def test_discovery_with_a_trailing_slash_is_served_and_its_preflight_passes(real_app: Flask) -> None:
    """Issue 13 item 6b: a redirect would break the browser's preflight, so the document is served there too."""
    client = real_app.test_client()
    sandbox = "https://sandbox.cds-hooks.org"
    preflight = client.options("/cds-services/", headers={
        "Origin": sandbox, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == sandbox
    answer = client.get("/cds-services/", headers={"Origin": sandbox})
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == sandbox
    assert answer.json == client.get("/cds-services").json
