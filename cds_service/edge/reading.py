"""Read one HTTP/1.1 request from bytes as they arrive, without blocking, before any thread runs it.

The head is parsed by gunicorn's own parser, the one that parses the request again in the worker thread, so
both agree on the framing and gunicorn's verdict on a bad head (two Content-Length headers, chunked plus
Content-Length, a negative length, `chunked, identity`) stays gunicorn's. The end of a chunked body is found
by h11 as its bytes arrive; the complete request is then read once by gunicorn's chunked reader, so a body
the thread will be given cannot fail to parse there. Body bytes are counted as they arrive: past the limit
the rest is read and thrown away, up to a bound, so clients that write their whole body before reading an
answer (Python requests, urllib, browsers' fetch) receive the 413 rather than a reset connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import h11
from gunicorn.http.body import ChunkedReader
from gunicorn.http.errors import NoMoreData, ParseException
from gunicorn.http.message import Request
from gunicorn.http.parser import RequestParser
from gunicorn.http.unreader import IterUnreader

HEAD_END = b"\r\n\r\n"
# h11 only finds where a chunked body ends: it is given a head of its own, then the body bytes.
CHUNKED_HEAD = b"POST / HTTP/1.1\r\nHost: edge\r\nTransfer-Encoding: chunked\r\n\r\n"


class ReadRequest(Request):  # type: ignore[misc]  # gunicorn has no type hints
    """A request the edge has read whole: the 100 Continue it asked for was sent then, not again here."""

    _policy_expect_continue = False


class ReadRequestParser(RequestParser):  # type: ignore[misc]
    """Parses, in the worker thread, a request already in memory."""

    mesg_class = ReadRequest


@dataclass(frozen=True)
class ReadLimits:
    max_head_bytes: int
    max_body_bytes: int
    drain_bytes: int  # how much of an oversized body is read and thrown away before the 413
    head_timeout_s: float
    body_timeout_s: float


@dataclass(frozen=True)
class NeedMore:
    send_continue: bool = False  # answer "100 Continue" now: the client waits for it before sending its body


@dataclass(frozen=True)
class Complete:
    data: bytes  # the request, head and body, as received
    leftover: bytes  # what followed it on the connection (a pipelined request)


@dataclass(frozen=True)
class Refuse:
    status: int
    reason: str
    message: str
    drained: bool  # the whole request was read, so closing will not reset the connection


@dataclass(frozen=True)
class Malformed:
    error: ParseException  # gunicorn's own verdict, answered by the worker's error handling


Step = NeedMore | Complete | Refuse | Malformed


MALFORMED_CHUNKS = Refuse(400, "Bad Request", "the chunked body is malformed", False)


def gunicorn_verdict(cfg: Any, peer: Any, data: bytes) -> Malformed | Refuse | None:
    """Parse a request with gunicorn's parser, reading its whole body: its error, or None if it is whole."""
    try:
        request = Request(cfg, IterUnreader([data]), peer)
        while request.body.read(1 << 20):
            pass
    except ParseException as error:
        return Malformed(error)
    except NoMoreData:  # gunicorn sees no end where h11 did
        return MALFORMED_CHUNKS
    return None


class RequestReader:
    """The state of one request being read: feed it bytes, it says what to do next."""

    def __init__(self, cfg: Any, peer: Any, limits: ReadLimits, now: float) -> None:
        self._cfg, self._peer, self._limits = cfg, peer, limits
        self._buffer = bytearray()
        self._head_length = 0  # 0 until the head is complete
        self._content_length: int | None = None  # None for a chunked body
        self._chunks: h11.Connection | None = None
        self._received = 0  # body bytes received, chunk framing included
        self._payload = 0  # body bytes counted against the limit (chunk data only)
        self._discarding = False
        self.deadline = now + limits.head_timeout_s

    @property
    def held(self) -> int:
        """Bytes of the request held in memory."""
        return len(self._buffer)

    @property
    def started(self) -> bool:
        """Whether any byte of this request has arrived (an idle connection is closed without an answer)."""
        return bool(self._buffer) or self._received > 0

    def expired(self, now: float) -> Refuse | None:
        if now < self.deadline:
            return None
        if self._head_length:
            what, seconds = "body", self._limits.body_timeout_s
        else:
            what, seconds = "headers", self._limits.head_timeout_s
        return Refuse(408, "Request Timeout", f"the request {what} did not arrive within {seconds:g} s", False)

    def feed(self, data: bytes, now: float) -> Step:
        if not self._head_length:
            return self._feed_head(data, now)
        return self._feed_body(data)

    def _too_large(self, drained: bool) -> Refuse:
        limit = self._limits.max_body_bytes
        return Refuse(413, "Payload Too Large", f"the request body is larger than {limit} bytes", drained)

    def _feed_head(self, data: bytes, now: float) -> Step:
        start = max(0, len(self._buffer) - len(HEAD_END) + 1)
        self._buffer += data
        end = self._buffer.find(HEAD_END, start)
        limit = self._limits.max_head_bytes
        if (end < 0 and len(self._buffer) > limit) or end + len(HEAD_END) > limit:
            return Refuse(431, "Request Header Fields Too Large",
                          f"the request line and headers are longer than {limit} bytes", False)
        if end < 0:
            return NeedMore()
        self._head_length = end + len(HEAD_END)
        try:
            request = Request(self._cfg, IterUnreader([bytes(self._buffer[: self._head_length])]), self._peer)
        except ParseException as error:
            return Malformed(error)
        except NoMoreData:
            return Refuse(400, "Bad Request", "the request head is incomplete", False)
        self.deadline = now + self._limits.body_timeout_s
        body = bytes(self._buffer[self._head_length:])
        del self._buffer[self._head_length:]
        expects = request.version >= (1, 1) and any(
            name == "EXPECT" and value.lower() == "100-continue" for name, value in request.headers)
        if isinstance(request.body.reader, ChunkedReader):
            self._chunks = h11.Connection(h11.SERVER, max_incomplete_event_size=limit)
            self._chunks.receive_data(CHUNKED_HEAD)
            self._chunks.next_event()  # its own head
        else:
            self._content_length = int(request.body.reader.length)
            if self._content_length > self._limits.max_body_bytes:
                if expects or self._content_length > self._limits.drain_bytes:
                    return self._too_large(drained=False)  # the client waits, or it is too much to read
                self._discarding = True
        step = self._feed_body(body)
        if expects and isinstance(step, NeedMore):
            return NeedMore(send_continue=True)
        return step

    def _feed_body(self, data: bytes) -> Step:
        self._received += len(data)
        if not self._discarding:
            self._buffer += data
        if self._chunks is not None:
            return self._feed_chunks(data)
        assert self._content_length is not None
        if self._received < self._content_length:
            return NeedMore()
        if self._discarding:
            return self._too_large(drained=True)
        end = self._head_length + self._content_length
        return Complete(bytes(self._buffer[:end]), bytes(self._buffer[end:]))

    def _feed_chunks(self, data: bytes) -> Step:
        assert self._chunks is not None
        if data:  # h11 takes b"" for the end of the connection
            self._chunks.receive_data(data)
        while True:
            try:
                event = self._chunks.next_event()
            except h11.RemoteProtocolError:
                if self._discarding:
                    return MALFORMED_CHUNKS
                return gunicorn_verdict(self._cfg, self._peer, bytes(self._buffer)) or MALFORMED_CHUNKS
            if event is h11.NEED_DATA:
                if self._discarding and self._received > self._limits.drain_bytes:
                    return self._too_large(drained=False)
                return NeedMore()
            if isinstance(event, h11.Data):
                self._payload += len(event.data)
                if self._payload > self._limits.max_body_bytes and not self._discarding:
                    self._discarding = True  # stop keeping the bytes; read on to the end or to the bound
                    del self._buffer[self._head_length:]
            elif isinstance(event, h11.EndOfMessage):
                if self._discarding:
                    return self._too_large(drained=True)
                leftover = bytes(self._chunks.trailing_data[0])
                request = bytes(self._buffer[: len(self._buffer) - len(leftover)])
                return gunicorn_verdict(self._cfg, self._peer, request) or Complete(request, leftover)
