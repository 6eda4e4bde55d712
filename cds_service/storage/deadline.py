"""Client-side deadlines for database sockets: a statement still waiting at its deadline has its socket shut.

PostgreSQL's own statement_timeout and lock_timeout are enforced by the server: a server that is frozen, or a
network that drops packets, never sends their error, and a blocked read would wait for ever (TCP keepalives
are answered by the kernel of a frozen host). Shutting the socket down from another thread ends the blocked
read at once; psycopg then raises OperationalError and the connection is discarded. One thread per process
watches every armed deadline (no thread per statement). Written by hand: psycopg has no client-side timeout.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


class Watchdog:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._armed: dict[int, int] = {}  # token -> socket fd
        self._fired: set[int] = set()
        self._counter = itertools.count()
        self._pid = 0

    @contextmanager
    def guard(self, fileno: int, seconds: float) -> Iterator[None]:
        """Shut the socket `fileno` down if the block has not ended after `seconds`.

        Raises:
            DeadlinePassed: the block failed after its deadline fired (its socket was shut).
        """
        token = next(self._counter)
        with self._cond:
            if self._pid != os.getpid():  # a thread does not survive fork: each process starts its own
                self._pid = os.getpid()
                self._heap, self._armed, self._fired = [], {}, set()
                threading.Thread(target=self._run, name="db-deadlines", daemon=True).start()
            self._armed[token] = fileno
            heapq.heappush(self._heap, (time.monotonic() + seconds, token))
            self._cond.notify()
        try:
            yield
        except BaseException as error:
            if self._disarm(token):
                raise DeadlinePassed(f"no answer from the database within {seconds:g} s") from error
            raise
        self._disarm(token)  # a block that ended well ended well, even if its deadline fired meanwhile

    def _disarm(self, token: int) -> bool:
        """Stop watching `token`; return True if its deadline had fired."""
        with self._cond:
            self._armed.pop(token, None)
            fired = token in self._fired
            self._fired.discard(token)
            return fired

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._cond.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                _, token = heapq.heappop(self._heap)
                fileno = self._armed.pop(token, None)
                if fileno is None:
                    continue  # the block ended in time
                self._fired.add(token)
                # Under the lock: the block cannot end, and its connection cannot be reused, meanwhile.
                _shut(fileno)


def _shut(fileno: int) -> None:
    try:
        duplicate = socket.socket(fileno=os.dup(fileno))
    except OSError:
        return
    try:
        duplicate.shutdown(socket.SHUT_RDWR)  # acts on the shared socket: the blocked read returns
    except OSError:
        pass
    finally:
        duplicate.close()


class DeadlinePassed(Exception):
    """A guarded block passed its deadline and its socket was shut."""


WATCHDOG = Watchdog()
