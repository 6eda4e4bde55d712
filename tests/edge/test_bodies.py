"""What the app refuses in a body it has read, over HTTP against gunicorn as deployed: charsets, duplicate
top-level keys, numbers beyond a float, feedback floods (issue 16 items 5 to 8)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import requests

from tests.edge.conftest import FEEDBACK, SERVICE, Served, ServerFactory, valid_call
from tests.storage.workers import feedback_item


def post(served: Served, body: bytes, content_type: str = "application/json", path: str = SERVICE) -> Any:
    return requests.post(f"{served.base}{path}", data=body, headers={"Content-Type": content_type}, timeout=10)


def diagnostics(answer: Any) -> str:
    assert answer.headers["Content-Type"] == "application/json"
    return str(answer.json()["issue"][0]["diagnostics"])


def with_extension(value: bytes) -> bytes:
    """The valid call with a top-level extension (a field the service ignores) holding `value`."""
    return valid_call()[:-1] + b',"extension":{"org.example.x":' + value + b"}}"


@pytest.fixture(scope="module")
def served(serve: ServerFactory) -> Served:
    return serve()


@pytest.mark.parametrize("content_type", ["application/json; charset=latin-1", "application/json;charset=utf-16"])
def test_a_charset_other_than_utf8_is_a_415(served: Served, content_type: str) -> None:
    answer = post(served, valid_call(), content_type)
    assert answer.status_code == 415
    assert diagnostics(answer).startswith("the body must be UTF-8 (charset=")


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", 'application/json; charset="UTF-8"'])
def test_utf8_declared_is_accepted(served: Served, content_type: str) -> None:
    assert post(served, valid_call(), content_type).status_code == 200


@pytest.mark.parametrize(("second", "key"), [
    (b'"hook":"order-select"', "hook"),
    (b'"ho\\u006fk":"order-select"', "hook"),  # the same key once decoded: a proxy would see it so
    (b'"context":{"userId":"Practitioner/1","patientId":"other"}', "context"),
    (b'"extension":{"a":1},"extension":{"b":2}', "extension"),
    # Names sharing a prefix are counted together (body.py): each still caught, whichever of them is sent.
    (b'"hookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2eb"', "hookInstance"),
    (b'"fhirServer":"https://a.example/fhir","fhirServer":"https://b.example/fhir"', "fhirServer"),
])
def test_a_top_level_key_twice_is_a_400_naming_it(served: Served, second: bytes, key: str) -> None:
    answer = post(served, valid_call()[:-1] + b"," + second + b"}")
    assert answer.status_code == 400
    assert diagnostics(answer) == f"the key {key!r} appears more than once at the top level of the body"


def test_keys_repeated_inside_prefetch_resources_are_not_the_envelope(served: Served) -> None:
    body = orjson.loads(valid_call())
    body["prefetch"]["patient"]["extension"] = [{"url": "https://example.org/context", "valueString": "hook"}]
    body["extension"] = {"org.example.context": {"hook": "x", "context": "y", "extension": []}}
    assert post(served, orjson.dumps(body)).status_code == 200


def test_a_number_beyond_a_float_is_a_400_naming_it(served: Served) -> None:
    answer = post(served, with_extension(b"-1e400"))
    assert answer.status_code == 400
    message = diagnostics(answer)
    assert message.startswith("the number -1e400 (line 1, column ")
    assert message.endswith("is out of range: JSON numbers must fit a 64-bit float")


def test_an_integer_beyond_64_bits_where_ignored_is_accepted(served: Served) -> None:
    assert post(served, with_extension(str(2**70).encode())).status_code == 200


@pytest.fixture(scope="module")
def one_worker(serve: ServerFactory) -> Served:
    # One worker, so that the per-worker counts are the ones every request meets.
    return serve(CDS_WORKERS="1", CDS_MAX_FEEDBACK_ITEMS="5", CDS_UNKNOWN_FEEDBACK_PER_MINUTE="8")


def feedback(cards: list[str]) -> bytes:
    return orjson.dumps({"feedback": [feedback_item(card, minute) for minute, card in enumerate(cards)]})


def test_more_feedback_items_than_the_limit_is_a_413(one_worker: Served) -> None:
    answer = post(one_worker, feedback([f"too-many-{n}" for n in range(6)]), path=FEEDBACK)
    assert answer.status_code == 413
    assert diagnostics(answer) == "feedback has 6 items; at most 5 are accepted in one request"


def test_unknown_card_feedback_is_rate_limited_per_caller(one_worker: Served) -> None:
    first = post(one_worker, feedback([f"unknown-{n}" for n in range(5)]), path=FEEDBACK)
    second = post(one_worker, feedback([f"unknown-{n}" for n in range(5, 10)]), path=FEEDBACK)
    assert [first.json()["unknownCards"], second.json()["unknownCards"]] == [5, 5]  # 10 of 8: now in debt
    third = post(one_worker, feedback(["unknown-10"]), path=FEEDBACK)
    assert third.status_code == 429
    assert int(third.headers["Retry-After"]) >= 1
    assert diagnostics(third).startswith("too much feedback for cards this service never issued; nothing was")
    assert requests.get(f"{one_worker.base}/healthz", timeout=10).status_code == 200  # nothing else is held up
