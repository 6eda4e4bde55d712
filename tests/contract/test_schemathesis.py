"""Schemathesis against the real app (WSGI; test catalogue and rule; SQLite store in tmp): >= 1,000 cases.

Every operation of `/openapi.json` gets its explicit examples, schemathesis' coverage phase and fuzzing, with
schema-valid and schema-invalid inputs. Every response must have a documented status, content type and
schema; no 5xx; schema-valid input is served (2xx, or 404/412 as documented) and schema-invalid input gets
a 4xx. `/openapi.json` itself is skipped by schemathesis (it never tests the schema's own path):
tests/api/test_openapi.py covers it.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from cds_service.app import create_app
from cds_service.protocol import URL_PATTERN
from cds_service.support.clock import FixedClock
from cds_service.support.ids import RandomIds
from tests.conftest import NOW, TESTS, settings_for
from tests.rules_for_tests import TEST_REGISTRY

MIN_CASES = 1_000
# Fuzzing examples per operation; the two POST operations carry the volume (the GETs take no input).
MAX_EXAMPLES = 400
# Schema-valid input may still be refused for reasons a schema cannot state: data that cannot be had (no
# Patient in prefetch, no FHIR server) is the 412 the CDS Hooks spec requires, and a made-up bearer token
# (schemathesis sends one, as the JWT is documented) is a 401.
POSITIVE_STATUSES = ["2xx", "401", "412"]
ABSOLUTE_URL = re.compile(URL_PATTERN)
# No generated request may send the app to a real host: a valid fhirServer becomes a closed local port.
CLOSED_LOCAL_FHIR = "http://127.0.0.1:9/fhir"

CASES: Counter[tuple[str, str, str]] = Counter()
STATUSES: Counter[tuple[str, int]] = Counter()

# Loaded at import, as schemathesis' pytest integration expects: its fixture-based loader does not work
# with pytest 9 (it writes the removed `Function._nodeid`).
DATA_DIR = Path(tempfile.mkdtemp(prefix="nxp2-contract-"))
APP = create_app(
    # The fuzzer sends hundreds of feedback items for cards never issued within a minute: the per-caller rate
    # limit (its own tests are in tests/edge) would answer 429 to valid bodies, so it is set out of reach here.
    settings_for(DATA_DIR, catalogue_dir=TESTS / "catalogue_for_tests", unknown_feedback_per_minute=10**9),
    registry=TEST_REGISTRY, clock=FixedClock(NOW), ids=RandomIds(),
)
CONFIG = schemathesis.Config.from_dict({
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES},
    "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES}},
    # OPTIONS is answered on every path (the CORS preflight), so it is not an unexpected method.
    "phases": {"coverage": {"unexpected-methods": ["PUT", "PATCH", "DELETE", "TRACE"]}},
})
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP, config=CONFIG)


@pytest.fixture(scope="module", autouse=True)
def enough_cases() -> Iterator[None]:
    """Fail the module when fewer than MIN_CASES cases ran; report the volume; remove the store."""
    yield
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    total = sum(CASES.values())
    print(f"\nschemathesis: {total} cases")
    for (operation, phase, mode), count in sorted(CASES.items()):
        print(f"  {operation:45} {phase:9} {mode:9} {count:5}")
    print("  statuses:", ", ".join(f"{op} {status}: {n}" for (op, status), n in sorted(STATUSES.items())))
    assert total >= MIN_CASES, f"only {total} generated cases ran"


def _keep_local(body: Any) -> None:
    if isinstance(body, dict) and isinstance(body.get("fhirServer"), str) and ABSOLUTE_URL.match(body["fhirServer"]):
        body["fhirServer"] = CLOSED_LOCAL_FHIR


@schema.parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                HealthCheck.data_too_large])
def test_every_response_conforms(case: schemathesis.Case) -> None:
    _keep_local(case.body)
    meta = case.meta
    phase = meta.phase.name.value if meta is not None else "?"
    mode = meta.generation.mode.value if meta is not None else "?"
    CASES[(case.operation.label, phase, mode)] += 1
    response = case.call_and_validate()
    STATUSES[(case.operation.label, response.status_code)] += 1
