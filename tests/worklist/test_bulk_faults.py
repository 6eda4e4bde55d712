"""What sekmet cannot produce, from the project's fault server: 429, 5xx while polling, Retry-After as an
HTTP date, a token expiring mid-download, gzip, a manifest error entry, a file on another origin."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from flask import Flask

from cds_service.cli import main
from cds_service.worklist.bulk import BulkClient, BulkError, Patience, retry_after
from cds_service.worklist.progress import Bars
from cds_service.worklist.smart import BackendAuth, ClientKey
from tests.support.fault_server import FaultServer
from tests.worklist.exports import NOW_ARG, fixture_bundles, resources_by_type
from tests.worklist.fake_bulk import FakeBulk, http_date_in
from tests.worklist.smart_server import ec_key, write_pem
from tests.worklist.test_bulk_sekmet import expected, rows_by_patient

NAMES = ["jdm-nxp2-mas-ast-49", "adult-nxp2-dm-onset-8-months-no-ct", "jdm-nxp2-abdominal-pain-3-days-ago"]
KEY = ec_key()


def ndjson(names: list[str]) -> dict[str, bytes]:
    by_type = resources_by_type({n: fixture_bundles()[n] for n in names})
    return {t: b"".join(orjson.dumps(r) + b"\n" for r in rs) for t, rs in by_type.items()}


@pytest.fixture
def fake() -> Iterator[FakeBulk]:
    with FaultServer() as server:
        yield FakeBulk(server, KEY.public_key(), ndjson(NAMES))


def client(fake: FakeBulk, tmp_path: Path, waits: list[float], patience: Patience | None = None) -> BulkClient:
    session = requests.Session()
    key = ClientKey.load(write_pem(KEY, tmp_path / "key.pem"))
    auth = BackendAuth(fake.server.url("/auth/token"), "worklist", key, "system/*.read", session)
    return BulkClient(fake.base, auth, session, Bars(enabled=False), patience or Patience(), sleep=waits.append)


def test_the_worklist_survives_every_fault_and_gives_the_services_cards(
    fake: FakeBulk, real_app: Flask, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.status_plan = [(503, {"Retry-After": lambda: http_date_in(2)}),
                        (202, {"X-Progress": "half", "Retry-After": "1"})]
    out = tmp_path / "out"
    capsys.readouterr()
    code = main(["worklist", "--fhir", fake.base, "--client-id", "worklist", "--key",
                 str(write_pem(KEY, tmp_path / "key.pem")), "--out", str(out), "--now", NOW_ARG, "--quiet"])
    printed = "".join(capsys.readouterr())
    assert code == 0, printed
    assert rows_by_patient(out) == expected(real_app, NAMES)
    assert fake.kickoffs[1] - fake.kickoffs[0] >= 0.9  # 429 with Retry-After: 1
    assert fake.polls[1] - fake.polls[0] >= 0.9  # 503 with an HTTP date 2 s ahead (1 s resolution)
    assert fake.tokens == ["token-1", "token-2"]  # the first expired mid-download; one new token
    export = out / "export"
    (condition,) = [p.name for p in export.iterdir() if p.name.startswith("Condition")]
    assert condition.endswith(".ndjson.gz")  # stored gzip bytes kept as such; DuckDB unpacks them
    document = orjson.loads((out / "worklist.json").read_bytes())
    ((kind, file, count),) = [(p["kind"], p["file"], p["count"]) for p in document["problems"]]
    assert (kind, count) == ("error entry in the export manifest", 1) and file.startswith("errors-")
    written = printed + "".join(p.read_text(errors="replace") for p in out.iterdir() if p.is_file())
    assert "token-" not in written  # never print or store a token


def test_polling_waits_as_the_server_says(fake: FakeBulk, tmp_path: Path) -> None:
    fake.status_plan = [(500, {}), (503, {"Retry-After": lambda: http_date_in(30)}),
                        (202, {"X-Progress": "10%", "Retry-After": "7"}), (202, {"X-Progress": "20%"})]
    waits: list[float] = []
    manifest = client(fake, tmp_path, waits).wait(fake.server.url("/fhir/status/1"))
    assert manifest["output"]
    assert waits[0] == 1.0  # no Retry-After: back-off from 1 s
    assert 28.5 <= waits[1] <= 30.5  # HTTP date
    assert waits[2:] == [7.0, 2.0]  # seconds, then the default poll interval


def test_a_server_that_keeps_failing_ends_in_a_clear_error(fake: FakeBulk, tmp_path: Path) -> None:
    fake.status_plan = [(500, {})] * 10
    waits: list[float] = []
    with pytest.raises(BulkError, match=r"gave up after 3 attempts \(HTTP 500\)"):
        client(fake, tmp_path, waits, Patience(attempts=3)).wait(fake.server.url("/fhir/status/1"))
    assert waits == [1.0, 2.0]  # exponential back-off


def test_the_token_never_goes_to_another_origin(fake: FakeBulk, tmp_path: Path) -> None:
    with FaultServer() as elsewhere:
        elsewhere.routes["/Patient.ndjson"] = lambda h: h.send_body(b"{}\n")
        manifest: dict[str, Any] = {"requiresAccessToken": True,
                                    "output": [{"type": "Patient", "url": elsewhere.url("/Patient.ndjson")}]}
        folder = client(fake, tmp_path, []).download(manifest, tmp_path / "export")
        assert elsewhere.requests == []
    local = orjson.loads((folder / "manifest.json").read_bytes())
    assert local["output"] == [] and local["failed"][0]["type"] == "Patient"


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = time.time()
    assert retry_after("12", now) == 12.0
    assert retry_after(http_date_in(60), now) == pytest.approx(60, abs=1.5)
    assert retry_after(http_date_in(-60), now) == 0.0
    assert retry_after("soon", now) is None and retry_after(None, now) is None
