"""The worklist over a real Bulk FHIR export: sekmet, SMART Backend Services, Patient and Group level, cancel."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask

from cds_service.cli import main
from tests.support.demo_fixtures import transaction_bundles
from tests.worklist.exports import NOW_ARG, fixture_bundles, patient_of
from tests.worklist.smart_server import SmartFhirServer, ec_key, rsa_key, write_pem
from tests.worklist.test_same_as_service import service_cards

FIXTURES = ["jdm-nxp2-mas-ast-49", "adult-nxp2-dm-onset-8-months-no-ct", "adult-nxp2-dm-hoarseness",
            "adult-nxp2-negative-dm-dysphagia-no-ct", "jdm-nxp2-abdominal-pain-3-days-ago",
            "child-nxp2-positive-no-myositis-diagnosis-abdominal-pain"]
GROUP = ["jdm-nxp2-mas-ast-49", "adult-nxp2-dm-hoarseness"]
EC_KEY, RSA_KEY, STRANGER = ec_key(), rsa_key(), ec_key()


@pytest.fixture(scope="module")
def server() -> Iterator[SmartFhirServer]:
    clients = {"worklist-ec": (EC_KEY, "system/*.*"), "worklist-rsa": (RSA_KEY, "system/*.read")}
    bundles = {name: fixture_bundles()[name] for name in FIXTURES}
    with SmartFhirServer(clients) as fhir:
        for transaction in transaction_bundles(bundles):
            fhir.load(transaction)
        members = [{"entity": {"reference": f"Patient/{patient_of(bundles[name])}"}} for name in GROUP]
        status, _ = fhir.request("PUT", "Group/clinic", {"resourceType": "Group", "id": "clinic", "type": "person",
                                                         "actual": True, "member": members})
        assert status in (200, 201)
        yield fhir


def worklist(server: SmartFhirServer, tmp_path: Path, client: str, key: Any, *extra: str) -> tuple[int, Path]:
    out = tmp_path / "out"
    code = main(["worklist", "--fhir", server.base_url, "--client-id", client,
                 "--key", str(write_pem(key, tmp_path / "key.pem")), "--out", str(out), "--now", NOW_ARG,
                 "--quiet", *extra])
    return code, out


def rows_by_patient(out: Path) -> dict[str, list[tuple[str, str, str]]]:
    document = orjson.loads((out / "worklist.json").read_bytes())
    rows: dict[str, list[tuple[str, str, str]]] = {}
    for row in document["rows"]:
        rows.setdefault(row["patient_id"], []).append((row["card_id"], row["indicator"], row["summary"]))
    return {k: sorted(v) for k, v in rows.items()}


def expected(real_app: Flask, names: list[str]) -> dict[str, list[tuple[str, str, str]]]:
    bundles = fixture_bundles()
    found = {patient_of(bundles[n]): sorted(service_cards(real_app, bundles[n])) for n in names}
    return {k: v for k, v in found.items() if v}


def test_a_patient_level_export_with_an_ec_key_gives_the_services_cards(
    server: SmartFhirServer, real_app: Flask, tmp_path: Path
) -> None:
    code, out = worklist(server, tmp_path, "worklist-ec", EC_KEY)
    assert code == 0
    assert rows_by_patient(out) == expected(real_app, FIXTURES)
    manifest = json.loads((out / "export" / "manifest.json").read_text())
    assert {o["type"] for o in manifest["output"]} <= {"Patient", "Observation", "Condition", "Procedure",
                                                       "DiagnosticReport", "ImagingStudy"}


def test_a_group_level_export_with_an_rsa_key_lists_only_the_group(
    server: SmartFhirServer, real_app: Flask, tmp_path: Path
) -> None:
    code, out = worklist(server, tmp_path, "worklist-rsa", RSA_KEY, "--group", "clinic")
    assert code == 0
    assert rows_by_patient(out) == expected(real_app, GROUP)


def test_an_export_changed_since_a_later_instant_is_empty(server: SmartFhirServer, tmp_path: Path) -> None:
    code, out = worklist(server, tmp_path, "worklist-ec", EC_KEY, "--since", "2100-01-01T01:00:00+01:00")
    assert code == 0
    assert rows_by_patient(out) == {}


@pytest.mark.parametrize(("client", "key"), [("worklist-ec", STRANGER), ("nobody", EC_KEY)])
def test_a_refused_assertion_ends_in_a_clear_message(
    server: SmartFhirServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], client: str, key: Any
) -> None:
    capsys.readouterr()
    code, _ = worklist(server, tmp_path, client, key)
    err = capsys.readouterr().err
    assert code == 2
    assert f"the token endpoint refused client '{client}' (HTTP 401: invalid_client" in err
    assert "Traceback" not in err


def test_resume_follows_an_export_kicked_off_elsewhere(
    server: SmartFhirServer, real_app: Flask, tmp_path: Path
) -> None:
    request = urllib.request.Request(
        f"{server.base_url}/Patient/$export?_type=Patient,Observation,Condition,Procedure",
        headers={"Authorization": f"Bearer {server.token}", "Prefer": "respond-async",
                 "Accept": "application/fhir+json"})
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=30) as response:
        status_url = response.headers["Content-Location"]
    code, out = worklist(server, tmp_path, "worklist-ec", EC_KEY, "--resume", status_url)
    assert code == 0
    assert rows_by_patient(out) == expected(real_app, FIXTURES)


def test_ctrl_c_cancels_the_export(server: SmartFhirServer, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "cds_service.cli", "worklist", "--fhir", server.base_url, "--client-id",
               "worklist-ec", "--key", str(write_pem(EC_KEY, tmp_path / "key.pem")), "--out", str(tmp_path / "out"),
               "--scope", "system/*.*", "--quiet"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line.startswith("export status URL: "), line
        status_url = line.split()[3]
        process.send_signal(signal.SIGINT)  # sekmet keeps an export running for a second: we are inside it
        rest = process.communicate(timeout=60)[1]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, rest
    assert "interrupted: the export was cancelled" in rest and "Traceback" not in rest
    status, _ = server.request("GET", status_url)
    assert status == 404  # sekmet forgot the export: the DELETE reached it


def test_since_reads_each_changed_patients_whole_record_from_the_server(
    server: SmartFhirServer, real_app: Flask, tmp_path: Path
) -> None:
    # Only the Patient changes after `since`: the export holds that one line, yet the cards must be those of
    # the whole record (antibody result included), read through the hook's own fetch path.
    time.sleep(1.1)
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    name = GROUP[0]
    patient = next(e["resource"] for e in fixture_bundles()[name]["entry"]
                   if e["resource"]["resourceType"] == "Patient")
    status, _ = server.request("PUT", f"Patient/{patient['id']}", patient | {"active": True})
    assert status in (200, 201)
    code, out = worklist(server, tmp_path, "worklist-ec", EC_KEY, "--since", since)
    assert code == 0
    exported = json.loads((out / "export" / "manifest.json").read_text())["output"]
    assert [o["type"] for o in exported] == ["Patient"]
    assert rows_by_patient(out) == expected(real_app, [name])
