"""Housekeeping that never runs inside a request: `Periodic.poke()` starts it in a thread when it is due."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from cds_service.storage.errors import StoreError

log = logging.getLogger(__name__)


class Periodic:
    """Run `work` at most every `every_s` seconds, in a thread of its own; a failure is logged, never raised."""

    def __init__(
        self, work: Callable[[], object], what: str, every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.work = work
        self.what = what
        self.every_s = every_s
        self.clock = clock
        self._next = float("-inf")
        self._running = False
        self._lock = threading.Condition()

    def idle(self, timeout_s: float) -> bool:
        """Wait until no run is in progress; return False if one still is after `timeout_s`."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._running, timeout_s)

    def poke(self) -> None:
        now = self.clock()
        with self._lock:
            if self._running or now < self._next:
                return
            self._running, self._next = True, now + self.every_s
        threading.Thread(target=self._run, name=self.what, daemon=True).start()

    def _run(self) -> None:
        try:
            self.work()
        except StoreError as error:
            log.warning("%s failed (tried again later): %s", self.what, error)
        finally:
            with self._lock:
                self._running = False
                self._lock.notify_all()
