"""scripts/fhir_server.py (`make fhir-server`, and the compose demo's FHIR image): collection Bundles load as
`make run` loads them, a bad file is a message and not a traceback, and the image's command, run here with
the real sekmet, serves every fixture patient under the base URL the compose service uses, so that the
compose health check passes only once the patients are in.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cds_service.config import PROJECT_ROOT
from tests.deploy.test_deploy_files import DEPLOY, instructions, load_all
from tests.support.demo_fixtures import FIXTURES
from tests.support.fhir_server import free_port

SCRIPT = PROJECT_ROOT / "scripts" / "fhir_server.py"
sys.path.insert(0, str(SCRIPT.parent))
import fhir_server  # noqa: E402  (a script, not a package)

FIXTURE = FIXTURES / "adult-nxp2-dm-onset-8-months-no-ct.json"


def test_collection_bundles_become_transactions_with_unique_ids_and_dates_moved(tmp_path: Path) -> None:
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": []}
    (tmp_path / "t.json").write_text(json.dumps(transaction))
    loaded = fhir_server.bundles_to_load([FIXTURE, FIXTURES, tmp_path / "t.json"], demo=False, now=None)
    labels = [label for label, _ in loaded]
    assert len(labels) == len(list(FIXTURES.glob("*.json"))) + 1  # the named fixture once, plus the transaction
    assert labels[-1].endswith("t.json")
    assert all(bundle["type"] == "transaction" for _, bundle in loaded)
    urls = [e["request"]["url"] for _, bundle in loaded for e in bundle["entry"]]
    assert len(urls) == len(set(urls))  # ids shared between fixtures made unique, as `make run` does


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("{", "not a readable JSON file", id="not-json"),
        pytest.param('{"resourceType": "Patient"}', "not a FHIR Bundle", id="not-a-bundle"),
        pytest.param('{"resourceType": "Bundle", "type": "document"}', "a 'document' Bundle", id="document"),
        pytest.param('{"resourceType": "Bundle", "type": "collection", "entry": []}', "has no Patient",
                     id="no-patient"),
    ],
)
def test_a_file_that_cannot_be_loaded_is_named_without_a_traceback(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = subprocess.run([sys.executable, str(SCRIPT), "--port", str(free_port()), "--load", str(bad)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def image_command() -> list[str]:
    (cmd,) = instructions("CMD", (DEPLOY / "Dockerfile.fhir").read_text())
    command: list[str] = json.loads(cmd)
    return command


def health_check() -> str:
    test: list[Any] = load_all(DEPLOY / "compose.yaml")[0]["services"]["fhir"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    return str(test[3])


def test_the_compose_fhir_image_command_serves_every_fixture_patient(tmp_path: Path) -> None:
    command = image_command()
    assert command[:2] == ["python", "scripts/fhir_server.py"] and "--demo" in command and "--no-token" in command
    public_url = command[command.index("--public-url") + 1]
    assert public_url == "http://fhir:8090/fhir"  # the compose service name, reachable from the cds container
    port = free_port()
    # Run here as the image runs it; only the port, and the loopback address instead of 0.0.0.0, differ.
    local = [sys.executable, str(SCRIPT), *command[2:]]
    local[local.index("--port") + 1] = str(port)
    local[local.index("--host") + 1] = "127.0.0.1"
    ready = local[local.index("--ready-file") + 1]
    local[local.index("--ready-file") + 1] = str(tmp_path / "loaded")
    check = [sys.executable, "-c", health_check().replace("127.0.0.1:8090", f"127.0.0.1:{port}")
             .replace(f"'{ready}'", repr(str(tmp_path / "loaded")))]
    assert repr(str(tmp_path / "loaded")) in check[2]
    log = (tmp_path / "fhir.log").open("w")
    server = subprocess.Popen(local, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    try:
        assert subprocess.run(check, capture_output=True, timeout=30).returncode != 0  # not up yet: unhealthy
        deadline = time.monotonic() + 300
        while subprocess.run(check, capture_output=True, timeout=30).returncode != 0:
            assert server.poll() is None, (tmp_path / "fhir.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "fhir.log").read_text()
            time.sleep(1)
        printed = (tmp_path / "fhir.log").read_text()
        # Healthy means loaded: the health check passes only once the last patient is in.
        assert len(re.findall(r"^loaded ", printed, re.MULTILINE)) == len(list(FIXTURES.glob("*.json"))) + 1
        query = (f"import json, urllib.request; print(json.dumps(json.load(urllib.request.urlopen("
                 f"'http://127.0.0.1:{port}/fhir/Patient?_count=500', timeout=10))))")
        page = json.loads(subprocess.run([sys.executable, "-c", query], capture_output=True, text=True,
                                         timeout=30, check=True).stdout)
        assert page["total"] == len(list(FIXTURES.glob("*.json"))) + 1  # every fixture and the demo patient
        assert all(link["url"].startswith(public_url) for link in page["link"])  # links the service can follow
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
