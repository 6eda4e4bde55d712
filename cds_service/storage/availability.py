"""Whether the database answers, as this process last saw it; a background probe while it does not.

Once a call finds the database down (no connection, no answer within the deadline), every store call fails
at once with DatabaseUnavailable instead of waiting out its own deadline, and one thread probes the database
every PROBE_EVERY_S seconds with a short deadline. The first probe that succeeds (it also finishes the
schema migration, if start-up could not) marks the database up again: service resumes within a probe period
and a probe's deadline of the database answering, whatever the outage's length (no growing back-off).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from cds_service.storage.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

PROBE_EVERY_S = 0.25
RETRY_AFTER_S = 2  # what a 503 tells the client; a little more than the probe's worst case


class Availability:
    """Up or down, per process; `probe` raises on failure and returns when the database answers."""

    def __init__(self, probe: Callable[[], object] | None, describe: str, *, up: bool = True) -> None:
        self._probe = probe  # None: never probe (the gunicorn master's start-up migration: no thread there)
        self.describe = describe
        self._lock = threading.Lock()
        self._up = up
        self._since = time.monotonic()
        self._prober_pid = 0
        self.on_down: list[Callable[[], None]] = []  # run by the prober when it starts (close the pools)

    @property
    def up(self) -> bool:
        if not self._up:
            self._ensure_prober()  # a process forked while down has no prober yet
        return self._up

    def check(self, what: str) -> None:
        """Raise DatabaseUnavailable at once if the database is known to be down."""
        if not self.up:
            raise DatabaseUnavailable(f"cannot {what}: the database is unavailable", RETRY_AFTER_S)

    def report_down(self, reason: str) -> None:
        with self._lock:
            was_up, self._up = self._up, False
            if was_up:
                self._since = time.monotonic()
        if was_up:
            log.warning("database unavailable, answering 503 until it answers again: %s", reason,
                        extra={"database": self.describe})
        self._ensure_prober()

    def _ensure_prober(self) -> None:
        with self._lock:
            if self._up or self._probe is None or self._prober_pid == os.getpid():
                return
            self._prober_pid = os.getpid()
        threading.Thread(target=self._run, name="db-probe", daemon=True).start()

    def _run(self) -> None:
        for callback in self.on_down:
            callback()
        while True:
            try:
                assert self._probe is not None
                self._probe()
            except Exception as error:  # any failure means "not yet"; the reason is logged at DEBUG only
                log.debug("database probe failed: %s", error)
                time.sleep(PROBE_EVERY_S)
                continue
            with self._lock:
                self._up = True
                self._prober_pid = 0
                down_for = time.monotonic() - self._since
            log.warning("database answers again after %.1f s", down_for, extra={"database": self.describe})
            return
