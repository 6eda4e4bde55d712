"""Slow clients cost a connection slot, never a worker: deadlines for headers and body (408), and 50 slow
clients for 20 s leave /healthz and a valid call answered within 1 s (the issue 16 test)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cds_service.config import PROJECT_ROOT
from tests.edge.conftest import SERVICE, Served, ServerFactory
from tests.edge.rawhttp import closed_by_server, connect, read_answer, request_head

QUICK = {"CDS_HEADER_TIMEOUT_S": "1", "CDS_BODY_TIMEOUT_S": "1.5"}


@pytest.fixture(scope="module")
def quick(serve: ServerFactory) -> Served:
    return serve(**QUICK)


def test_headers_that_do_not_arrive_in_time_get_a_408(quick: Served) -> None:
    with connect(quick.port) as sock:
        sock.sendall(b"POST /cds-services/nxp2-myositis HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-")
        started = time.monotonic()
        answer = read_answer(sock)
        assert (answer.status, answer.diagnostics()) == (408, "the request headers did not arrive within 1 s")
        assert time.monotonic() - started < 5  # the deadline is checked at least once a second
        assert closed_by_server(sock, within_s=5)


def test_a_body_that_stops_arriving_gets_a_408(quick: Served) -> None:
    with connect(quick.port) as sock:
        sock.sendall(request_head("POST", SERVICE, {"Content-Type": "application/json", "Content-Length": "100"}))
        sock.sendall(b'{"hook": ')
        answer = read_answer(sock)
        assert (answer.status, answer.diagnostics()) == (408, "the request body did not arrive within 1.5 s")


def test_an_idle_connection_is_closed_without_an_answer(quick: Served) -> None:
    with connect(quick.port) as sock:
        assert closed_by_server(sock, within_s=5)
        sock.settimeout(1)
        assert sock.recv(100) == b""


def test_fifty_slow_clients_leave_every_probe_answered_within_a_second(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts/hostile/slow_clients.py"), "--clients", "50", "--duration", "20",
         "--json", str(figures)], capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(figures.read_text())
    assert result["probes"] >= 40  # one every 0.25 s for 20 s, each answered before the next is sent
    assert result["answered_within_1s"] == result["probes"]
    assert result["slow_connections"] >= 50


def test_a_worker_holds_at_most_its_connection_cap(serve: ServerFactory) -> None:
    served = serve(CDS_WORKERS="1", CDS_WORKER_CONNECTIONS="3")
    probe = request_head("GET", "/healthz", {})
    idle = [connect(served.port) for _ in range(3)]
    try:
        time.sleep(1)  # the worker has accepted all three and stops accepting
        with connect(served.port) as waiting:  # the kernel completes the handshake; the worker does not accept
            waiting.sendall(probe)
            waiting.settimeout(1.5)
            with pytest.raises(TimeoutError):
                waiting.recv(100)
            idle.pop().close()  # a slot frees: the waiting connection is accepted and answered
            waiting.settimeout(10)
            assert read_answer(waiting).status == 200
    finally:
        for sock in idle:
            sock.close()
