"""The `nxp2-cds` command: `request` turns a FHIR Bundle into a CDS Hooks call; `evaluate`, `settings`, `docs`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask

from cds_service.app import create_app
from cds_service.cli import main
from cds_service.support.clock import SystemClock
from cds_service.tools.hook_request import BundleError, build_request
from tests.conftest import TESTS, settings_for

PATIENT = {"resourceType": "Patient", "id": "p7", "birthDate": "1950-03-04", "gender": "female"}
OBSERVATION = {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p7"},
               "code": {"text": "CK"}, "valueQuantity": {"value": 5000, "unit": "U/L"}}
CONDITION = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p7"},
             "code": {"text": "Dermatomyositis"}}


def bundle(*resources: dict[str, Any], kind: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()  # only what the command itself prints (fixtures may have logged before)
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, body: Any) -> str:
    path = tmp_path / "bundle.json"
    path.write_bytes(orjson.dumps(body))
    return str(path)


def test_request_fills_every_discovery_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], real_app: Flask
) -> None:
    code, out, err = run(capsys, "request", write(tmp_path, bundle(PATIENT, OBSERVATION, CONDITION)))
    assert (code, err) == (0, "")
    request = orjson.loads(out)
    (service,) = real_app.test_client().get("/cds-services").json["services"]
    assert set(request["prefetch"]) == set(service["prefetch"])
    assert request["hook"] == "patient-view"
    assert uuid.UUID(request["hookInstance"]).version == 4
    assert request["context"] == {"userId": "Practitioner/example", "patientId": "p7"}
    prefetch = request["prefetch"]
    assert prefetch["patient"] == PATIENT
    assert prefetch["observations"] == {"resourceType": "Bundle", "type": "searchset", "total": 1,
                                        "entry": [{"resource": OBSERVATION, "search": {"mode": "match"}}]}
    assert prefetch["conditions"]["entry"][0]["resource"] == CONDITION
    assert prefetch["procedures"] == {"resourceType": "Bundle", "type": "searchset", "total": 0}

    response = real_app.test_client().post("/cds-services/nxp2-myositis", data=out, content_type="application/json")
    assert response.status_code == 200, response.json


def test_each_request_gets_a_fresh_hook_instance(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, bundle(PATIENT, kind="searchset"))
    first, second = (orjson.loads(run(capsys, "request", path)[1])["hookInstance"] for _ in range(2))
    assert first != second


def test_a_built_request_gets_a_card_from_the_service(client: Any) -> None:
    definition = client.application.extensions["nxp2_cds"].catalogue.service_definitions()[0]
    request = build_request(bundle(PATIENT, OBSERVATION), definition, user_id="Practitioner/9")
    response = client.post("/cds-services/test-service", data=orjson.dumps(request), content_type="application/json")
    assert response.status_code == 200
    assert [card["summary"] for card in response.json["cards"]] == ["Test card: born in 1950, before the cut-off"]


@pytest.mark.parametrize(("body", "message"), [
    ({"resourceType": "Patient"}, "expected a FHIR Bundle"),
    (bundle(PATIENT, kind="transaction"), "collection or searchset"),
    ({"resourceType": "Bundle", "type": "collection"}, "no entry list"),
    (bundle(OBSERVATION), "exactly one Patient"),
    (bundle(PATIENT, PATIENT | {"id": "p8"}), "exactly one Patient"),
])
def test_an_unusable_bundle_is_refused_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: Any, message: str
) -> None:
    code, out, err = run(capsys, "request", write(tmp_path, body))
    assert (code, out) == (2, "")
    assert message in err
    with pytest.raises(BundleError, match=message):
        build_request(body, _definition())


def _definition() -> Any:
    from cds_service.protocol import ServiceDefinition

    return ServiceDefinition(hook="patient-view", id="s", description="d",
                             prefetch={"patient": "Patient/{{context.patientId}}"})


def test_a_missing_file_or_unknown_service_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "request", str(tmp_path / "missing.json"))
    assert code == 2 and "missing.json" in err
    code, _, err = run(capsys, "request", "--service", "nope", write(tmp_path, bundle(PATIENT)))
    assert code == 2 and "nxp2-myositis" in err


def test_settings_prints_the_banner_and_every_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDS_MODE", "development")
    code, out, _ = run(capsys, "settings")
    assert code == 0
    assert "DEVELOPMENT MODE" in out and "CDS_DATA_DIR = " in out
    monkeypatch.setenv("CDS_WORKERS", "none")
    code, _, err = run(capsys, "settings")
    assert code == 2 and "CDS_WORKERS='none'" in err


def test_settings_markdown_is_the_readme_table(capsys: pytest.CaptureFixture[str]) -> None:
    from cds_service.tools.settings_docs import settings_table

    assert run(capsys, "settings", "--markdown") == (0, settings_table(), "")


def _without_uuids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_uuids(v) for k, v in value.items() if k != "uuid"}
    if isinstance(value, list):
        return [_without_uuids(v) for v in value]
    return value


def test_evaluate_prints_the_same_cards_as_the_service(capsys: pytest.CaptureFixture[str]) -> None:
    fixture = "jdm-nxp2-mas-ast-49"
    code, out, err = run(capsys, "evaluate", f"fhir_fixtures/{fixture}.json", "--now", "2026-11-24T09:00:00Z",
                         "--format", "json")
    assert code == 0, err  # stderr may carry log lines when logging was configured; the cards go to stdout
    golden = orjson.loads((TESTS / "golden" / f"{fixture}.json").read_bytes())
    assert _without_uuids(orjson.loads(out)["cards"]) == _without_uuids(golden)


def test_evaluate_prints_a_readable_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "evaluate", "fhir_fixtures/jdm-nxp2-mas-ast-49.json", "--now", "2026-11-24T09:00:00Z")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "2 card(s) for Patient/jdm-nxp2-mas-ast-49 at 2026-11-24T09:00:00+00:00"
    assert lines[1].split()[:2] == ["warning", "nxp2-jdm-mas-pattern"]
    assert lines[2].split()[:2] == ["info", "nxp2-ild-baseline-screen"]


def test_evaluate_refuses_a_missing_file_and_a_time_without_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "evaluate", str(tmp_path / "missing.json"))
    assert code != 0 and "missing.json" in err
    code, _, err = run(capsys, "evaluate", "fhir_fixtures/jdm-nxp2-mas-ast-49.json", "--now", "2026-11-24T09:00")
    assert code != 0 and "time zone" in err


README_FIXTURE = "fhir_fixtures/adult-nxp2-dm-onset-8-months-no-ct.json"


def _masked(summary: str) -> str:
    """A summary without its numbers: a month count may differ by one where the shifted dates cross months."""
    return re.sub(r"\d+", "N", summary)


def test_request_now_moves_the_bundle_so_todays_service_gives_evaluate_nows_cards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, request_json, err = run(capsys, "request", README_FIXTURE, "--now", "2026-11-24T09:00:00Z")
    assert (code, err) == (0, "")
    request = orjson.loads(request_json)
    onset = request["prefetch"]["conditions"]["entry"][0]["resource"]["onsetDateTime"]
    moved = datetime.fromisoformat(onset) - datetime(2026, 3, 25, 9, tzinfo=UTC)  # the fixture's onset
    assert abs(moved - (datetime.now(UTC) - datetime(2026, 11, 24, 9, tzinfo=UTC))) < timedelta(minutes=5)
    live = create_app(settings_for(tmp_path), clock=SystemClock()).test_client()  # today's clock, as `make run`
    cards = live.post("/cds-services/nxp2-myositis", data=request_json, content_type="application/json").json["cards"]
    code, table, _ = run(capsys, "evaluate", README_FIXTURE, "--now", "2026-11-24T09:00:00Z", "--format", "json")
    offline = orjson.loads(table)["cards"]
    assert [(c["indicator"], c["source"]["topic"]["code"], _masked(c["summary"])) for c in cards] == [
        (c["indicator"], c["source"]["topic"]["code"], _masked(c["summary"])) for c in offline]
    assert {c["source"]["topic"]["code"] for c in cards} == {"nxp2-adult-cancer-screening", "nxp2-ild-baseline-screen"}


def test_the_readme_example_shows_what_evaluate_prints(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (TESTS.parent / "README.md").read_text(encoding="utf-8")
    command = f".venv/bin/nxp2-cds evaluate {README_FIXTURE} --now 2026-11-24T09:00:00Z\n"
    shown = [line.removeprefix("# ") for line in readme.split(command, 1)[1].splitlines()]
    shown = shown[:shown.index("```")]
    code, out, _ = run(capsys, "evaluate", README_FIXTURE, "--now", "2026-11-24T09:00:00Z")
    printed = out.splitlines()
    assert code == 0 and len(shown) == len(printed) >= 2
    for readme_line, line in zip(shown, printed, strict=True):
        assert line.startswith(readme_line.removesuffix("...")), (readme_line, line)


def test_evaluate_as_a_command_prints_the_cards_and_nothing_on_stderr(tmp_path: Path) -> None:
    """Offline, the cards are not recorded: no writer thread, no "issued cards not recorded" error."""
    command = [sys.executable, "-m", "cds_service.cli", "evaluate", README_FIXTURE, "--now", "2026-11-24T09:00:00Z"]
    done = subprocess.run(command, cwd=TESTS.parent, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "CDS_DATA_DIR": str(tmp_path)}, check=False)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("2 card(s) for Patient/adult-nxp2-dm-onset-8-months-no-ct")
    assert list(tmp_path.iterdir()) == []  # the service's own data folder is never touched


def test_request_refuses_a_time_without_zone(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "request", README_FIXTURE, "--now", "2026-11-24T09:00")
    assert (code, out) == (2, "") and "time zone" in err


def test_help_lists_every_subcommand_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    names = re.search(r"\{([a-z,-]+)\}", lines[0]).group(1).split(",")  # type: ignore[union-attr]
    assert {"settings", "docs", "request", "evaluate"} <= set(names)
    for name in names:
        (line,) = [line for line in lines if line.startswith(f"    {name} ")]
        following = lines[lines.index(line) + 1]
        assert len(line.split(maxsplit=1)) == 2, f"{name} has no help"
        assert not following.startswith(" " * 8), f"the help of {name} runs over two lines"
