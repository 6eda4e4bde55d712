"""docs/security.md's walkthrough, run exactly as written: from `nxp2-cds keys` to a 200 with cards, the
fetch path from a real FHIR server (sekmet) on loopback, and a refused call whose log line the response's
X-Request-Id finds.

The shell blocks of the section "Walkthrough" run in order in one bash, in a scratch folder that holds
links to the checkout's `.venv`, `deploy`, `scripts` and `fhir_fixtures`; the only change is the ports
(8080 and 8090 become free ones; the test also points CDS_DATA_DIR at the scratch folder). A block whose
paragraph says *runs until stopped* is started in the background, and the next block waits until its port
answers, as a reader would wait for it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cds_service.config import PROJECT_ROOT
from tests.support.fhir_server import free_port

SECURITY = PROJECT_ROOT / "docs" / "security.md"
BLOCK = re.compile(r"\n((?:(?!```)[^\n]*\n)*?)```sh\n(.*?)```", re.DOTALL)


def walkthrough_blocks() -> list[tuple[bool, str]]:
    """(runs until stopped, commands) for each shell block of the walkthrough, in order."""
    text = SECURITY.read_text()
    section = text.split("### Walkthrough", 1)[1].split("\n## ", 1)[0]
    blocks = []
    for paragraph, commands in BLOCK.findall(section):
        blocks.append(("runs until stopped" in paragraph.strip().split("\n\n")[-1], commands))
    return blocks


def script(blocks: list[tuple[bool, str]], ports: dict[str, int]) -> str:
    """One bash script: each block as written (ports swapped), background blocks waited for."""
    lines = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    for number, (background, commands) in enumerate(blocks):
        for old, new in ports.items():
            commands = re.sub(rf"\b{old}\b", str(new), commands)
        lines.append(f"echo; echo '=== block {number}'")  # curl's answers end without a newline
        if background:
            port = re.findall("|".join(str(new) for new in ports.values()), commands)[-1]  # the one it listens on
            lines.append(f"( {commands} ) > background-{number}.log 2>&1 &")
            # What a reader does: wait until the server is up (its port answers), or see that it stopped.
            lines.append(f"pid=$!; for i in $(seq 600); do curl -s -o /dev/null 127.0.0.1:{port} && break; "
                         f"kill -0 $pid || {{ cat background-{number}.log; exit 1; }}; sleep 0.2; done")
        else:
            lines.append(commands)
    lines.append("echo; echo '=== end'")
    return "\n".join(lines) + "\n"


def outputs(stdout: str) -> dict[int, str]:
    parts = re.split(r"^=== block (\d+)\n", stdout, flags=re.MULTILINE)
    return {int(parts[i]): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def card_topics(answer: str) -> set[str]:
    body = json.loads(answer)
    return {card["source"]["topic"]["code"] for card in body["cards"]}


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[int, str], Path]:
    folder = tmp_path_factory.mktemp("walkthrough")
    (folder / ".venv").symlink_to(Path(sys.executable).parent.parent)
    for name in ("deploy", "scripts", "fhir_fixtures"):
        (folder / name).symlink_to(PROJECT_ROOT / name)
    ports = {"8080": free_port(), "8090": free_port()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")} | {"CDS_DATA_DIR": str(folder / "var")}
    result = subprocess.run(["bash", "-c", script(walkthrough_blocks(), ports)], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=600)
    logs = "\n".join(p.read_text() for p in sorted(folder.glob("background-*.log")))
    assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}\n{logs[-6000:]}"
    assert result.stdout.endswith("=== end\n")
    return outputs(result.stdout), folder


def test_the_walkthrough_has_the_steps_it_promises() -> None:
    blocks = walkthrough_blocks()
    assert [background for background, _ in blocks] == [False, True, True, False, False, False]
    assert "nxp2-cds keys" in blocks[0][1] and "scripts/fhir_server.py" in blocks[1][1]


def test_keys_print_the_issuers_entry_to_paste(walked: tuple[dict[int, str], Path]) -> None:
    out, folder = walked
    (entry,) = re.findall(r"^CDS_JWT_ISSUERS='(.*)'$", out[0], re.MULTILINE)
    assert json.loads(entry) == {"https://ehr.example.org": {"jwks_file": str(folder / "keys" / "jwks.json")}}
    assert (folder / "keys" / "ehr-2026-12.pem").stat().st_mode & 0o777 == 0o600


def test_a_signed_call_gets_discovery_and_cards_and_the_fetch_path_gets_the_same(
    walked: tuple[dict[int, str], Path],
) -> None:
    out, _ = walked
    discovery, call = out[3].split('{"cards"', 1)
    assert [s["id"] for s in json.loads(discovery)["services"]] == ["nxp2-myositis"]
    with_prefetch = card_topics('{"cards"' + call)
    assert with_prefetch == {"nxp2-adult-cancer-screening", "nxp2-ild-baseline-screen"}
    assert card_topics(out[4]) == with_prefetch  # read from the FHIR server, not from prefetch


def test_the_refused_call_is_found_in_the_log_by_its_request_id(walked: tuple[dict[int, str], Path]) -> None:
    out, folder = walked
    assert out[5].startswith("HTTP/1.1 401")
    (request_id,) = re.findall(r"^X-Request-Id: (\w+)\r?$", out[5], re.MULTILINE | re.IGNORECASE)
    service_log = (folder / "background-2.log").read_text()
    (line,) = [json.loads(line) for line in service_log.splitlines()
               if request_id in line and '"cds_service.auth"' in line]
    assert line["aud_received"] == "https://cds.example.org/cds-services/nxp2-myositis"
    assert line["aud_expected"] == "https://cds.example.org/cds-services"
    assert line["jwt_kid"] == "ehr-2026-12" and line["jwt_tenant"] == "no tenant"
    # The fetch made one connection per thread at most: urllib3 never had to discard one.
    assert "Connection pool is full" not in service_log
    assert "Traceback" not in service_log
