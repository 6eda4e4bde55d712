"""`make run` (scripts/run_dev.py) and its fixture loader: the FHIR server with every patient, shifted dates,
a service that starts even when the FHIR server cannot, and a clean stop on SIGTERM."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.demo.conftest import RunningDev, get_json, start_dev
from tests.support.builders import load_expectations
from tests.support.demo_fixtures import (
    FIXTURE_NOW,
    clock_shift,
    label_for,
    read_fixtures,
    shift_dates,
    transaction_bundles,
)
from tests.support.fhir_server import free_port


def test_fixture_now_is_the_scenarios_now() -> None:
    assert load_expectations()["now"] == FIXTURE_NOW.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(("stem", "label"), [
    ("jdm-nxp2-gi-perforation-today", "JDM anti-NXP2 GI perforation today"),
    ("jdm-nxp2-bmi-12-5-z-below-minus-2", "JDM anti-NXP2 BMI 12.5 z below minus 2"),
    ("jdm-nxp2-oedema-cd4-cd8-1-39", "JDM anti-NXP2 oedema CD4 CD8 1.39"),
    ("jdm-nxp2-cmas-10-80-days-ago", "JDM anti-NXP2 CMAS 10, 80 days ago"),
    ("nxp2-negative-no-myositis-diagnosis", "Anti-NXP2 negative no myositis diagnosis"),
    ("adult-nxp2-dm-onset-8-months-no-ct", "Adult anti-NXP2 DM onset 8 months no CT"),
])
def test_label_from_the_file_name(stem: str, label: str) -> None:
    assert label_for(stem) == label


def test_dates_move_with_the_clock() -> None:
    now = FIXTURE_NOW + timedelta(days=40, hours=20, minutes=30)  # 2027-01-04 05:30: 41 calendar days on
    delta, days = clock_shift(now)
    assert (delta, days) == (timedelta(days=40, hours=20, minutes=30), 41)
    resource = {"resourceType": "Observation", "id": "2026-11-24", "effectiveDateTime": "2026-11-21T09:00:00Z",
                "valuePeriod": {"start": "2026-11-20T10:00:00+02:00"}, "issued": "2026-11-24",
                "code": {"coding": [{"code": "2026-11-24"}]}}
    moved = shift_dates(resource, delta, days)
    assert moved["effectiveDateTime"] == "2027-01-01T05:30:00Z"  # still 3 days before now
    assert moved["valuePeriod"]["start"] == "2026-12-31T04:30:00Z"
    assert moved["issued"] == "2027-01-04"  # a date: whole calendar days, today stays today
    assert moved["id"] == moved["code"]["coding"][0]["code"] == "2026-11-24"  # not dates
    assert resource["effectiveDateTime"] == "2026-11-21T09:00:00Z"  # the input is untouched


def test_every_fixture_becomes_a_transaction_with_unique_ids() -> None:
    fixtures = read_fixtures()
    bundles = transaction_bundles(fixtures, datetime(2027, 3, 1, 12, tzinfo=UTC))
    assert len(bundles) == len(fixtures) >= 100
    urls = [entry["request"]["url"] for bundle in bundles for entry in bundle["entry"]]
    assert len(urls) == len(set(urls)) == sum(len(f["entry"]) for f in fixtures.values())
    for (stem, fixture), bundle in zip(fixtures.items(), bundles, strict=True):
        assert bundle["type"] == "transaction"
        patient = bundle["entry"][0]["resource"]
        assert patient["id"] == stem
        assert patient["name"][0]["given"] == fixture["entry"][0]["resource"]["name"][0]["given"]
        assert patient["text"]["status"] == "generated"
        assert patient["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
        for entry in bundle["entry"]:
            assert entry["request"] == {"method": "PUT",
                                        "url": f"{entry['resource']['resourceType']}/{entry['resource']['id']}"}
            assert len(entry["resource"]["id"]) <= 64


def test_the_service_starts_and_says_why_when_the_fhir_server_cannot(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        running = start_dev(tmp_path, "--fhir-port", str(taken.getsockname()[1]), workers=1)
        try:
            status, config = get_json(f"{running.base_url}/demo/config")
            assert status == 200 and config["fhirServer"] is None
            assert get_json(f"{running.base_url}/healthz")[0] == 200
            assert get_json(f"{running.base_url}/demo/fhir/Patient")[0] == 503
        finally:
            assert running.stop() == 0
    log = running.log()
    assert "the demo FHIR server did NOT start" in log
    assert "already in use" in log and "FHIR_PORT" in log


def test_sigterm_stops_gunicorn_and_the_fhir_server(tmp_path: Path) -> None:
    fhir_port = free_port()
    running: RunningDev = start_dev(tmp_path, "--fhir-port", str(fhir_port), workers=1)
    status, _ = get_json(f"http://127.0.0.1:{fhir_port}/fhir/Patient/jdm-nxp2-gi-perforation-today")
    assert status == 200
    assert running.stop() == 0
    for port in (fhir_port, int(running.base_url.rsplit(":", 1)[1])):
        with socket.socket() as probe, pytest.raises(OSError):
            probe.settimeout(1)
            probe.connect(("127.0.0.1", port))
    assert "demo FHIR server stopped" in running.log()
