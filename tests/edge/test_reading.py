"""The request reader on its own: bytes in, a decision out (no socket, no clock but the one passed in)."""

from __future__ import annotations

from gunicorn.config import Config

from cds_service.edge.reading import Complete, Malformed, NeedMore, ReadLimits, Refuse, RequestReader
from cds_service.support.rate_limit import RateLimit
from tests.edge.rawhttp import chunked, request_head

LIMITS = ReadLimits(max_head_bytes=1024, max_body_bytes=100, drain_bytes=1000, head_timeout_s=2, body_timeout_s=3)
PEER = ("127.0.0.1", 5000)


def reader() -> RequestReader:
    return RequestReader(Config(), PEER, LIMITS, now=0.0)


def feed_bytewise(data: bytes) -> list[object]:
    """Feed one byte at a time; return every step that was not NeedMore()."""
    read = reader()
    return [step for byte in data if (step := read.feed(bytes([byte]), 0.0)) != NeedMore()]


def test_a_request_fed_one_byte_at_a_time_completes_once_with_its_exact_bytes() -> None:
    request = request_head("POST", "/x", {"Content-Length": "4"}) + b"abcd"
    assert feed_bytewise(request) == [Complete(request, b"")]
    read = reader()
    assert read.feed(request + b"GET / HTTP/1.1\r\n", 0.0) == Complete(request, b"GET / HTTP/1.1\r\n")


def test_a_chunked_request_completes_at_its_last_chunk() -> None:
    request = request_head("POST", "/x", {"Transfer-Encoding": "chunked"}) + chunked(b"x" * 100, size=7)
    assert feed_bytewise(request) == [Complete(request, b"")]


def test_a_chunked_body_over_the_limit_is_read_to_its_end_then_refused() -> None:
    request = request_head("POST", "/x", {"Transfer-Encoding": "chunked"}) + chunked(b"x" * 101, size=10)
    assert feed_bytewise(request) == [Refuse(413, "Payload Too Large", "the request body is larger than 100 bytes",
                                             drained=True)]


def test_a_body_past_the_drain_bound_is_refused_without_waiting_for_its_end() -> None:
    read = reader()
    head = request_head("POST", "/x", {"Transfer-Encoding": "chunked"})
    assert read.feed(head + b"200\r\n" + b"x" * 512 + b"\r\n", 0.0) == NeedMore()  # over the limit: discarding
    step = read.feed(b"200\r\n" + b"x" * 512 + b"\r\n", 0.0)  # 1,034 bytes received: past the bound
    assert isinstance(step, Refuse) and (step.status, step.drained) == (413, False)


def test_a_declared_length_past_the_bound_is_refused_at_once() -> None:
    step = reader().feed(request_head("POST", "/x", {"Content-Length": "1001"}), 0.0)
    assert isinstance(step, Refuse) and (step.status, step.drained) == (413, False)


def test_expect_100_continue_is_asked_for_only_within_the_limit() -> None:
    head = request_head("POST", "/x", {"Content-Length": "4", "Expect": "100-continue"})
    assert reader().feed(head, 0.0) == NeedMore(send_continue=True)
    refused = reader().feed(head.replace(b"Length: 4", b"Length: 400"), 0.0)
    assert isinstance(refused, Refuse) and refused.status == 413


def test_gunicorn_keeps_its_verdict_on_a_bad_head() -> None:
    step = reader().feed(request_head("POST", "/x", [("Content-Length", "1"), ("Content-Length", "1")]), 0.0)
    assert isinstance(step, Malformed) and "CONTENT-LENGTH" in str(step.error)


def test_deadlines_are_for_the_headers_then_for_the_body() -> None:
    read = reader()
    assert read.feed(b"POST /x HTTP/1.1\r\n", 0.0) == NeedMore()
    assert read.expired(1.9) is None
    assert read.expired(2.0) == Refuse(408, "Request Timeout", "the request headers did not arrive within 2 s", False)
    read.feed(b"Host: x\r\nContent-Length: 5\r\n\r\n", 1.0)  # the body's deadline runs from here
    assert read.expired(3.9) is None
    assert read.expired(4.0) == Refuse(408, "Request Timeout", "the request body did not arrive within 3 s", False)


def test_a_head_longer_than_the_limit_is_a_431_even_unfinished() -> None:
    step = reader().feed(b"GET /" + b"a" * 1100, 0.0)
    assert isinstance(step, Refuse) and step.status == 431


def test_a_rate_limit_refuses_once_spent_and_recovers_with_time() -> None:
    limit = RateLimit(per_minute=60)  # one a second
    assert limit.wait_s("a", now=0.0) == 0
    limit.spend("a", 61, now=0.0)  # one into debt
    assert (limit.wait_s("a", now=0.0), limit.wait_s("b", now=0.0)) == (2, 0)
    assert limit.wait_s("a", now=2.5) == 0


def test_a_rate_limit_forgets_the_least_recent_keys_first() -> None:
    limit = RateLimit(per_minute=1, max_keys=2)
    for key in ("a", "b", "c"):
        limit.spend(key, 5, now=0.0)
    assert [limit.wait_s(key, now=0.0) > 0 for key in ("a", "b", "c")] == [False, True, True]
