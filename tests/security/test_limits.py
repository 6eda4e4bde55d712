"""Request limits: each exceeded limit is a clear 4xx, never a crash (the token limit is in the attack suite)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from flask.testing import FlaskClient

from cds_service.api.decode import nesting_depth
from tests.conftest import hook_request
from tests.security.conftest import AppFactory
from tests.security.tokens import FEEDBACK, SERVICE


def post_raw(client: FlaskClient, body: bytes, path: str = SERVICE) -> Any:
    return client.post(path, data=body, content_type="application/json")


def nested(depth: int) -> Any:
    """A hook request whose extension nests `depth` levels in all (the body object counts as one)."""
    value: Any = "deep"
    for _ in range(depth - 2):
        value = [value]
    return hook_request(extension={"org.example.deep": value})


@pytest.fixture
def dev_client(make_app: AppFactory) -> FlaskClient:
    return make_app(mode="development", max_json_depth=64).test_client()


def test_nesting_up_to_the_limit_is_accepted(dev_client: FlaskClient) -> None:
    body = nested(64)
    assert nesting_depth(orjson.dumps(body), 1000) == 64
    assert post_raw(dev_client, orjson.dumps(body)).status_code == 200


@pytest.mark.parametrize("depth", [65, 1024, 1025, 100_000])
def test_deeper_nesting_is_a_400_naming_the_limit(dev_client: FlaskClient, depth: int) -> None:
    # Above 1024 orjson refuses first; the client sees the same message either way.
    inner = depth - 2  # the body object and the extension object
    raw = orjson.dumps(hook_request(extension={"org.example.deep": "@"})).replace(
        b'"@"', b"[" * inner + b"]" * inner)
    response = post_raw(dev_client, raw)
    assert response.status_code == 400
    assert response.json["issue"][0]["diagnostics"] == "the body nests JSON deeper than 64 levels"


def test_feedback_bodies_have_the_same_depth_limit(dev_client: FlaskClient) -> None:
    response = post_raw(dev_client, b'{"feedback":' + b"[" * 100 + b"]" * 100 + b"}", FEEDBACK)
    assert (response.status_code, response.json["issue"][0]["diagnostics"]) == (
        400, "the body nests JSON deeper than 64 levels")


@pytest.mark.parametrize("depth", [65, 500, 100_000])
# (where, how many objects and arrays enclose the field's value)
@pytest.mark.parametrize(("where", "enclosing"), [
    ("unknown top-level field", 1), ("unknown Observation field", 6), ("unknown Bundle field", 3),
])
def test_deep_nesting_in_a_field_the_service_skips_is_a_400_too(
    dev_client: FlaskClient, depth: int, where: str, enclosing: int
) -> None:
    # The prefetch is decoded typed (facts/wire.py): these fields are skipped, never built, yet counted.
    body = hook_request()
    observation = {"resourceType": "Observation", "id": "o1", "status": "final", "note": "@"}
    body["prefetch"]["observations"]["entry"] = [{"resource": observation}]
    if where == "unknown top-level field":
        body["x-deep"] = "@"
        del observation["note"]
    elif where == "unknown Bundle field":
        body["prefetch"]["observations"]["meta"] = "@"
        del observation["note"]
    raw = orjson.dumps(body)
    assert raw.count(b'"@"') == 1
    inner = depth - enclosing
    deep = raw.replace(b'"@"', b"[" * inner + b"]" * inner)
    if depth <= 500:
        assert nesting_depth(deep, 1000) == depth
    at_limit = 64 - enclosing
    assert post_raw(dev_client, raw.replace(b'"@"', b"[" * at_limit + b"]" * at_limit)).status_code == 200
    response = post_raw(dev_client, deep)
    assert response.status_code == 400
    assert response.json["issue"][0]["diagnostics"] == "the body nests JSON deeper than 64 levels"


def test_nesting_depth_counts_containers_only() -> None:
    values = (1, "x", [], {}, [[1]], {"a": [{"b": {}}]}, ["[[", {'"[': "]\\"}], {"a": '"', "b": [["x\\"]]})
    assert [nesting_depth(orjson.dumps(value), 10) for value in values] == [0, 0, 1, 1, 2, 4, 2, 3]
    assert nesting_depth(b"[[[[[[]]]]]]", 3) == 4  # stops once over the limit
    assert nesting_depth(b"[" * 100_000 + b"]" * 100_000, 400) == 401


def test_too_many_prefetch_keys_is_a_413(make_app: AppFactory) -> None:
    client = make_app(mode="development", max_prefetch_keys=3).test_client()
    body = hook_request()
    assert post_raw(client, orjson.dumps(body)).status_code == 200  # 2 keys
    body["prefetch"] |= {"a": None, "b": None}
    response = post_raw(client, orjson.dumps(body))
    assert response.status_code == 413
    assert response.json["issue"][0]["diagnostics"] == "prefetch has 4 keys; at most 3 are accepted"


def test_too_many_prefetch_resources_is_a_413(make_app: AppFactory) -> None:
    client = make_app(mode="development", max_prefetch_resources=10).test_client()
    body = hook_request()
    entries = [{"resource": {"resourceType": "Observation", "id": f"o{i}", "status": "final"}} for i in range(9)]
    body["prefetch"]["observations"]["entry"] = entries
    assert post_raw(client, orjson.dumps(body)).status_code == 200  # 1 Patient + 9 entries
    entries.append(entries[0])
    response = post_raw(client, orjson.dumps(body))
    assert response.status_code == 413
    assert response.json["issue"][0]["diagnostics"] == "prefetch holds 11 resources; at most 10 are accepted"


def test_a_body_over_the_size_limit_is_a_413(make_app: AppFactory) -> None:
    client = make_app(mode="development", max_body_bytes=2_000).test_client()
    body = hook_request()
    assert post_raw(client, orjson.dumps(body)).status_code == 200
    body["extension"] = {"org.example.pad": "x" * 2_000}
    assert post_raw(client, orjson.dumps(body)).status_code == 413


def test_huge_numbers_and_bad_utf8_are_400s(dev_client: FlaskClient) -> None:
    assert post_raw(dev_client, b'{"hook": 1' + b"0" * 400 + b"}").status_code == 400
    assert post_raw(dev_client, b'{"hook": "\xff"}').status_code == 400


@pytest.mark.parametrize(("second", "key"), [
    (b'"hook":"order-select"', "hook"),
    (b'"ho\\u006fk":"order-select"', "hook"),  # the same key once decoded
    (b'"prefetch":{}', "prefetch"),
    (b'"org.example.unknown":1,"org.example.unknown":2', "org.example.unknown"),  # ignored, still refused
    # simdjson refuses an integer beyond 64 bits: the standard library's parse names the key instead
    (b'"big":123456789012345678901234567890,"context":{}', "context"),
])
def test_a_top_level_key_twice_is_a_400_naming_it(dev_client: FlaskClient, second: bytes, key: str) -> None:
    answer = post_raw(dev_client, orjson.dumps(hook_request())[:-1] + b"," + second + b"}")
    assert answer.status_code == 400
    assert answer.get_json()["issue"][0]["diagnostics"] == (
        f"the key {key!r} appears more than once at the top level of the body"
    )


def test_keys_repeated_below_the_top_level_are_accepted(dev_client: FlaskClient) -> None:
    body = hook_request(extension={"org.example.x": {"hook": 1, "hook ": 2}, "context": {"context": 1}})
    raw = orjson.dumps(body)[:-1] + b',"big":123456789012345678901234567890}'
    assert post_raw(dev_client, raw).status_code == 200
    assert post_raw(dev_client, orjson.dumps(body)).status_code == 200
