"""Requests gunicorn refuses before the app sees them are answered as OperationOutcome JSON with the right
status (never gunicorn's HTML page), and broken chunked framing is a 400 (never a 500 or an ERROR log)."""

from __future__ import annotations

import time

import pytest

from tests.edge.conftest import FEEDBACK, SERVICE, ServerFactory, valid_call
from tests.edge.rawhttp import chunked, closed_by_server, connect, exchange, read_answer, request_head

BODY = valid_call()
JSON = ("Content-Type", "application/json")


@pytest.mark.parametrize(("headers", "expected"), [
    pytest.param([JSON, ("Transfer-Encoding", "chunked"), ("Content-Length", str(len(BODY)))],
                 "CONTENT-LENGTH", id="chunked-and-content-length"),
    pytest.param([JSON, ("Content-Length", str(len(BODY))), ("Content-Length", str(len(BODY)))],
                 "CONTENT-LENGTH", id="two-content-lengths"),
    pytest.param([JSON, ("Content-Length", "-5")], "CONTENT-LENGTH", id="negative-content-length"),
    pytest.param([JSON, ("Transfer-Encoding", "chunked, identity")], "TRANSFER-ENCODING", id="chunked-identity"),
])
def test_ambiguous_framing_is_a_400_operation_outcome(
    serve: ServerFactory, headers: list[tuple[str, str]], expected: str
) -> None:
    served = serve()
    with connect(served.port) as sock:
        sock.sendall(request_head("POST", SERVICE, headers) + chunked(BODY))
        answer = read_answer(sock)
        assert answer.status == 400
        assert expected in answer.diagnostics()
        assert answer.headers["connection"] == "close"
        assert closed_by_server(sock, within_s=5)  # where the next request would start is unknown


@pytest.mark.parametrize(("data", "status", "message"), [
    (b"GARBAGE\r\n\r\n", 400, "Invalid Request Line"),
    (b"POST /cds-services HTTP/9.9\r\nHost: x\r\n\r\n", 400, "Invalid HTTP Version"),
    (request_head("POST", SERVICE, [("Transfer-Encoding", "gzip, br")]), 501, "gzip, br"),
    (request_head("GET", "/healthz", [("X-Long", "x" * 70_000)]), 431, "longer than 65536 bytes"),
])
def test_other_requests_gunicorn_refuses_are_operation_outcomes(
    serve: ServerFactory, data: bytes, status: int, message: str
) -> None:
    answer = exchange(serve().port, data)
    assert (answer.status, message in answer.diagnostics()) == (status, True), answer.body


BROKEN_CHUNKS = {
    "invalid-chunk-size": b"zz\r\n{}\r\n0\r\n\r\n",
    "chunk-missing-terminator": b"2\r\n{}XX0\r\n\r\n",
    "size-larger-than-data-then-garbage": b"5\r\n{}\r\nnot-a-size\r\n\r\n",
    "chunk-extension-with-control-bytes": b"2;\x01\r\n{}\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("path", [SERVICE, FEEDBACK])
@pytest.mark.parametrize("body", BROKEN_CHUNKS.values(), ids=BROKEN_CHUNKS.keys())
def test_broken_chunked_framing_is_a_400_never_a_500(serve: ServerFactory, path: str, body: bytes) -> None:
    served = serve()
    answer = exchange(served.port, request_head("POST", path, [JSON, ("Transfer-Encoding", "chunked")]) + body)
    assert answer.status == 400, answer.body
    assert answer.diagnostics()
    assert served.error_lines() == []
    assert "request from ip=127.0.0.1" in served.log()  # the control: the refusal was logged, as a warning


def test_a_valid_chunked_call_is_answered_with_cards(serve: ServerFactory) -> None:
    served = serve()
    head = request_head("POST", SERVICE, [JSON, ("Transfer-Encoding", "chunked")])
    with connect(served.port) as sock:
        for _ in range(2):  # kept alive: the second call on the same connection is read the same way
            sock.sendall(head)
            time.sleep(0.2)  # the head arrives alone, as most clients send it
            sock.sendall(chunked(BODY, size=100))
            answer = read_answer(sock)
            assert answer.status == 200, answer.body
            assert "cards" in answer.json()


def test_two_pipelined_calls_are_both_answered(serve: ServerFactory) -> None:
    served = serve()
    one = request_head("POST", SERVICE, [JSON, ("Content-Length", str(len(BODY)))]) + BODY
    two = request_head("GET", "/healthz", {})
    with connect(served.port) as sock:
        sock.sendall(one + two)
        assert read_answer(sock).status == 200
        assert read_answer(sock).json()["status"] == "ok"
