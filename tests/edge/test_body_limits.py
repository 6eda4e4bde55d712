"""Body limits at the edge: counted as the bytes arrive (chunked too), 413 OperationOutcome past the limit,
readable by clients that write the whole body before reading (requests, urllib); past a bound, a close."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request

import orjson
import pytest
import requests

from tests.edge.conftest import SERVICE, Served, ServerFactory, valid_call
from tests.edge.rawhttp import chunked, closed_by_server, connect, exchange, read_answer, request_head

LIMIT, DRAIN = 200_000, 1_000_000
BUDGET = 300_000  # bytes of unfinished requests one worker holds
SMALL = {"CDS_MAX_BODY_BYTES": str(LIMIT), "CDS_OVERSIZE_DRAIN_BYTES": str(DRAIN), "CDS_READ_BUFFER_BYTES": str(BUDGET),
         "CDS_WORKERS": "1"}
JSON = ("Content-Type", "application/json")


def padded(size: int) -> bytes:
    """A valid call padded with spaces to `size` bytes: valid JSON of that size."""
    body = valid_call()
    return body + b" " * (size - len(body))


@pytest.fixture(scope="module")
def small(serve: ServerFactory) -> Served:
    return serve(**SMALL)


def test_requests_reads_the_413_of_a_body_it_sends_whole(small: Served) -> None:
    assert requests.post(f"{small.base}{SERVICE}", data=padded(LIMIT), timeout=10,
                         headers={"Content-Type": "application/json"}).status_code == 200
    answer = requests.post(f"{small.base}{SERVICE}", data=padded(LIMIT + 1), timeout=10,
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert answer.json()["issue"][0] == {"severity": "error", "code": "too-costly",
                                        "diagnostics": f"the request body is larger than {LIMIT} bytes"}


def test_urllib_reads_the_413_of_a_body_it_sends_whole(small: Served) -> None:
    request = urllib.request.Request(f"{small.base}{SERVICE}", data=padded(DRAIN - 1000),
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 413
    assert orjson.loads(refused.value.read())["resourceType"] == "OperationOutcome"


def test_a_body_past_the_drain_bound_gets_the_connection_closed(small: Served) -> None:
    head = request_head("POST", SERVICE, [JSON, ("Content-Length", str(DRAIN + 1))])
    with connect(small.port) as sock:
        sock.sendall(head)
        answer = read_answer(sock)  # not read at all: answered at once
        assert answer.status == 413
        assert closed_by_server(sock, within_s=5)


def test_a_declared_oversize_body_with_expect_100_is_refused_before_it_is_sent(small: Served) -> None:
    head = request_head("POST", SERVICE, [JSON, ("Content-Length", str(LIMIT + 1)), ("Expect", "100-continue")])
    answer = exchange(small.port, head)
    assert (answer.status, answer.interim) == (413, [])


def test_expect_100_within_the_limit_gets_one_100_continue_then_the_answer(small: Served) -> None:
    body = valid_call()
    head = request_head("POST", SERVICE, [JSON, ("Content-Length", str(len(body))), ("Expect", "100-continue")])
    with connect(small.port) as sock:
        sock.sendall(head)
        sock.settimeout(5)
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = read_answer(sock)
    assert (answer.status, answer.interim) == (200, [])


def test_a_chunked_body_is_counted_as_it_arrives(small: Served) -> None:
    head = request_head("POST", SERVICE, [JSON, ("Transfer-Encoding", "chunked")])
    assert exchange(small.port, head + chunked(padded(LIMIT), size=7_000)).status == 200
    answer = exchange(small.port, head + chunked(padded(LIMIT + 1), size=7_000))
    assert answer.status == 413
    assert answer.diagnostics() == f"the request body is larger than {LIMIT} bytes"


def test_a_chunked_body_past_the_drain_bound_gets_the_connection_closed(small: Served) -> None:
    head = request_head("POST", SERVICE, [JSON, ("Transfer-Encoding", "chunked")])
    with connect(small.port) as sock:
        sock.sendall(head)
        try:
            for _ in range(40):  # 2.6 MB of chunks, well past the bound; the server stops reading at it
                sock.sendall(b"10000\r\n" + b" " * 0x10000 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert closed_by_server(sock, within_s=5)


def test_six_megabytes_chunked_are_a_413_never_a_truncated_call(serve: ServerFactory) -> None:
    """Issue 16 as found: 5,000,000 bytes of valid JSON then 1 MB of garbage were evaluated (200 and cards)."""
    served = serve()  # the default limit, 5,000,000 bytes
    head = request_head("POST", SERVICE, [JSON, ("Transfer-Encoding", "chunked")])
    for body in (padded(5_000_000) + b"\x00garbage" * 125_000, padded(6_000_000)):
        with connect(served.port) as sock:
            sock.sendall(head + chunked(body))
            answer = read_answer(sock)
        assert answer.status == 413, answer.body
        assert answer.diagnostics() == "the request body is larger than 5000000 bytes"


def test_the_limit_holds_for_a_body_sent_in_one_byte_pieces(small: Served) -> None:
    body = valid_call()
    with connect(small.port) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request_head("POST", SERVICE, [JSON, ("Content-Length", str(len(body)))]))
        for index in range(0, len(body), 4096):
            sock.sendall(body[index:index + 4096])
        assert read_answer(sock).status == 200


def test_bodies_held_past_the_worker_budget_get_a_503_with_retry_after(small: Served) -> None:
    body = padded(LIMIT)
    head = request_head("POST", SERVICE, [JSON, ("Content-Length", str(len(body)))])
    with connect(small.port) as first, connect(small.port) as second:
        first.sendall(head + body[:160_000])
        time.sleep(0.5)  # held by the one worker
        second.sendall(head + body[:160_000])
        refused = read_answer(second)
        assert (refused.status, refused.headers["retry-after"]) == (503, "1")
        assert refused.diagnostics() == "the service is reading too many requests at once; send it again"
        first.sendall(body[160_000:])
        assert read_answer(first).status == 200  # the request already held is served
