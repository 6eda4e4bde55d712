"""The load tool's parts (scripts/load/): request bodies, the socket count behind kill mode, depth check."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from cds_service.api.decode import nesting_depth
from cds_service.protocol import HookRequest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "load"))

from bodies import HOOK_INSTANCE, load_requests, service_definition  # noqa: E402
from procstat import established_connections, memory_kib  # noqa: E402


def test_every_fixture_becomes_a_valid_call_with_full_prefetch_and_some_are_padded_to_500_observations() -> None:
    small, large = load_requests(ROOT / "fhir_fixtures")
    keys = set(service_definition().prefetch or {})
    assert keys == {"patient", "observations", "conditions", "procedures", "diagnosticReports", "imagingStudies"}
    assert len(small) == len(list((ROOT / "fhir_fixtures").glob("*.json"))) and len(large) >= 4
    for raw in small + large:
        assert raw.count(b"HOOKINSTANCE") == 1
        body = json.loads(raw)
        request = HookRequest.model_validate(body)
        assert request.hookInstance == HOOK_INSTANCE and request.prefetch is not None
        assert set(request.prefetch) == keys
        assert request.prefetch["patient"]["id"] == request.context.patientId  # type: ignore[index]
        for key in keys - {"patient"}:
            bundle: dict[str, Any] = request.prefetch[key]  # type: ignore[assignment]
            assert bundle["type"] == "searchset" and bundle["total"] == len(bundle.get("entry", []))
    for raw in large:
        entries = json.loads(raw)["prefetch"]["observations"]["entry"]
        assert len(entries) == 500
        assert len({e["resource"]["id"] for e in entries}) == 500
        quantities = [e["resource"]["valueQuantity"] for e in entries if "valueQuantity" in e["resource"]]
        assert all(q["system"] == "http://unitsofmeasure.org" and q["code"] for q in quantities)


def test_the_connections_a_process_holds_on_a_port_are_counted() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert established_connections(os.getpid(), port) == 0  # a listening socket is not a call
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            with accepted:
                client.sendall(b"x")
                assert established_connections(os.getpid(), port) == 1
    rss, pss = memory_kib(os.getpid())
    assert 0 < pss <= rss


def reference_depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(reference_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(reference_depth, value), default=0)
    return 0


json_values = st.recursive(
    # Text made of brackets, quotes and backslashes too: the depth is read from the bytes, strings skipped.
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=3)
    | st.text('[]{}"\\\n', max_size=4),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=2) | st.text('[]{}"\\', max_size=3), inner, max_size=4),
    max_leaves=40,
)


@given(json_values, st.integers(min_value=1, max_value=12))
def test_nesting_depth_is_the_nesting_depth_up_to_one_past_the_limit(value: Any, limit: int) -> None:
    assert nesting_depth(orjson.dumps(value), limit) == min(reference_depth(value), limit + 1)
