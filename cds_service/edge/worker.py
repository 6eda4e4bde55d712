"""`EdgeWorker`: gunicorn's threaded worker, with every request read whole by the event loop first.

gunicorn's gthread worker waits in its event loop only for the first byte of a request; from then on a
thread reads the headers and the app reads the body, blocking, with no deadline. A client that sends one
byte every half second holds a thread for as long as it likes (issue 16). Here the loop also reads the
rest, without blocking: each connection holds a `RequestReader` until its request is complete, refused
(408 past a deadline, 413 past the body limit, 431 for a head too long) or malformed (gunicorn's own
400/501 verdict). A thread is given only complete requests, parsed there from memory, so a slow client
costs a connection slot (at most `worker_connections` per worker) and never a thread.

Written here because no gunicorn worker reads requests this way, and putting a buffering proxy in front
is a deployment choice the service must not depend on to stay up (deploy/ adds one anyway).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import time
from concurrent.futures import Future
from functools import partial
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker

from cds_service.config import Settings
from cds_service.edge.outcome import outcome_response, write_outcome
from cds_service.edge.reading import (
    Complete,
    Malformed,
    NeedMore,
    ReadLimits,
    ReadRequestParser,
    Refuse,
    RequestReader,
    Step,
)

RECV_BYTES = 256 * 1024
MAX_HEAD_BYTES = 64 * 1024  # request line and headers; ours are a few hundred bytes plus a JWT
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
BUSY = Refuse(503, "Service Unavailable", "the service is reading too many requests at once; send it again", False)


def read_limits(settings: Settings) -> ReadLimits:
    return ReadLimits(
        max_head_bytes=MAX_HEAD_BYTES,
        max_body_bytes=settings.max_body_bytes,
        drain_bytes=settings.oversize_drain_bytes,
        head_timeout_s=settings.header_timeout_s,
        body_timeout_s=settings.body_timeout_s,
    )


class EdgeWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn has no type hints
    """A ThreadWorker whose event loop reads each request whole before a thread runs it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading: dict[TConn, RequestReader] = {}
        settings = Settings.from_env()  # deploy/gunicorn.conf.py has already checked them
        self.limits = read_limits(settings)
        self.read_buffer_bytes = settings.read_buffer_bytes
        self.held = 0  # bytes of unfinished requests held by all readers
        self.stopping_since: float | None = None  # when the worker began to stop (murder_pending notes it)

    def init_process(self) -> None:
        if self.cfg.is_ssl:
            raise RuntimeError("EdgeWorker reads plain HTTP/1.1: end TLS at the reverse proxy")
        # gunicorn writes its own error pages through this one function (only workers' handle_error calls
        # it); ours is JSON. Set in the worker process only, before it serves anything.
        util.write_error = write_outcome
        super().init_process()

    # --- connections enter here: accepted, back from keep-alive, or with a pipelined request waiting ---

    def enqueue_req(self, conn: TConn) -> None:
        if getattr(conn, "edge_complete", False):
            conn.edge_complete = False
            super().enqueue_req(conn)  # to a thread, with the request in memory
        else:
            self.start_reading(conn, getattr(conn, "edge_leftover", b""))

    def finish_request(self, conn: TConn, fs: Future[Any]) -> None:
        leftover = getattr(conn, "edge_leftover", b"")
        if leftover and self.alive and not fs.cancelled() and fs.exception() is None and fs.result() is True:
            self.start_reading(conn, leftover)  # a pipelined request already arrived: no readable event will come
            return
        super().finish_request(conn, fs)

    def start_reading(self, conn: TConn, leftover: bytes) -> None:
        conn.edge_leftover = b""
        conn.sock.setblocking(False)
        reader = RequestReader(self.cfg, conn.client, self.limits, time.monotonic())
        self.reading[conn] = reader
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_request_bytes, conn))
        if leftover:
            self.feed(conn, reader, leftover)

    def on_request_bytes(self, conn: TConn, _fileobj: Any) -> None:
        reader = self.reading.get(conn)
        if reader is None:
            return
        try:
            data = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self.stop_reading(conn)
            self.close(conn, drained=False)
            return
        self.feed(conn, reader, data)

    def feed(self, conn: TConn, reader: RequestReader, data: bytes) -> None:
        try:
            before = reader.held
            step = reader.feed(data, time.monotonic())
            self.held += reader.held - before
            if isinstance(step, NeedMore) and self.held > self.read_buffer_bytes:
                step = BUSY  # many large bodies at once: refuse this one rather than run out of memory
            self.advance(conn, step)
        except Exception:  # a fault of ours must cost this request, never the loop every connection shares
            self.log.exception("Error reading a request")
            self.stop_reading(conn)
            self.send_now(conn, outcome_response(500, "Internal Server Error", "internal error"))
            self.close(conn, drained=False)

    def advance(self, conn: TConn, step: Step) -> None:
        if isinstance(step, NeedMore):
            if step.send_continue:
                self.send_now(conn, CONTINUE)
            return
        self.stop_reading(conn)
        if isinstance(step, Complete):
            conn.parser = ReadRequestParser(self.cfg, [step.data], conn.client)  # parses from memory only
            conn.edge_leftover = step.leftover
            conn.data_ready = True  # no waiting for the socket in the thread
            conn.edge_complete = True
            self.enqueue_req(conn)
        elif isinstance(step, Malformed):
            # gunicorn's status and warning line, our JSON body (write_outcome)
            self.handle_error(None, conn.sock, conn.client, step.error)
            self.close(conn, drained=False)
        else:
            self.refuse(conn, step)

    def refuse(self, conn: TConn, refusal: Refuse) -> None:
        self.log.warning("Refused request from ip=%s: %s %s", conn.client[0] if conn.client else "",
                         refusal.status, refusal.message)
        self.send_now(conn, outcome_response(refusal.status, refusal.reason, refusal.message))
        self.close(conn, drained=refusal.drained)

    def murder_pending(self) -> None:
        """Also refuse (408) requests whose headers or body did not arrive in time; close idle ones."""
        super().murder_pending()
        now = time.monotonic()
        if not self.alive and self.stopping_since is None:
            self.stopping_since = now
        for conn, reader in list(self.reading.items()):
            refusal = reader.expired(now)
            if refusal is None and (self.alive or reader.started or self.lingering(now)):
                continue  # past the linger a stopping worker does not wait for requests that have not begun
            self.stop_reading(conn)
            if refusal is not None and reader.started:
                self.refuse(conn, refusal)
            else:
                self.close(conn, drained=False)

    def lingering(self, now: float) -> bool:
        """Whether a stopping worker still keeps connections whose next request has not begun.

        For STOP_KEEPALIVE_LINGER, as gunicorn keeps its own kept-alive ones: a connection that became readable
        gets its reader in one pass of the loop and its bytes in the next, and a client may already be sending.
        Closing it then lost the request (wrk counted read errors at every worker recycle); kept, the request
        is answered with "Connection: close".
        """
        return self.stopping_since is not None and now - self.stopping_since < STOP_KEEPALIVE_LINGER

    # --- plumbing ---

    def stop_reading(self, conn: TConn) -> None:
        reader = self.reading.pop(conn, None)
        if reader is not None:
            self.held -= reader.held
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)

    def send_now(self, conn: TConn, data: bytes) -> None:
        """Write a short answer from the loop; the socket is non-blocking and its buffer empty, so it fits."""
        with contextlib.suppress(OSError):
            conn.sock.send(data)

    def close(self, conn: TConn, *, drained: bool) -> None:
        self.nr_conns -= 1
        try:
            if drained:  # nothing unread: a FIN after the answer, never a reset
                conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        conn.close()
