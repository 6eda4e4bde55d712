"""The record of issued cards (and the card audit log), written off the request path.

A hook call hands its records to `CardRecorder.record`, which never waits and never raises: a thread of
the worker process writes them, so a slow or absent database never holds an answer. While the database is
known to be down, records wait in a bounded queue and are written when it answers again; past the bound
the oldest are dropped and logged (their feedback is then stored as for an unknown card). Feedback arriving
at this process before a card's record is written is matched against the queue (`pending_card_ids`).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cds_service.storage.audit import AuditedCard, CardAuditLog
from cds_service.storage.errors import DatabaseUnavailable, StoreError
from cds_service.storage.feedback import DatabaseFeedbackStore, IssuedCard

log = logging.getLogger(__name__)

CAPACITY = 20_000  # cards held while the database is down (a few hundred bytes each)
RETRY_S = 0.25  # pause before writing again after the database was found down
EXIT_FLUSH_S = 2.0  # how long a stopping worker waits for its queue to be written


class IssuedCardRecords(Protocol):
    """Where a hook call leaves the record of the cards it issued (hooks/evaluate.py)."""

    def record(self, issued: Sequence[IssuedCard], audited: Sequence[AuditedCard], issued_at: datetime) -> None: ...

    def pending_card_ids(self, uuids: Iterable[str]) -> dict[str, str]: ...


class NotRecorded:
    """Offline evaluation (`nxp2-cds evaluate`, `nxp2-cds worklist`): its cards go to a terminal or a report,
    never to an EHR, so no feedback can name them and there is nothing to record (and no writer thread)."""

    def record(self, issued: Sequence[IssuedCard], audited: Sequence[AuditedCard], issued_at: datetime) -> None:
        return None

    def pending_card_ids(self, uuids: Iterable[str]) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class _Batch:
    issued: tuple[IssuedCard, ...]
    audited: tuple[AuditedCard, ...]
    issued_at: datetime

    @property
    def size(self) -> int:
        return max(len(self.issued), len(self.audited), 1)


class CardRecorder:
    """Write issued-card records (and audit rows, when the audit log is on) from a background thread."""

    def __init__(
        self, feedback: DatabaseFeedbackStore, audit: CardAuditLog | None, *, capacity: int = CAPACITY
    ) -> None:
        self.feedback = feedback
        self.audit = audit
        self.capacity = capacity
        self._cond = threading.Condition()
        self._queue: deque[_Batch] = deque()
        self._writing: _Batch | None = None
        self._queued = 0
        self._pid = 0
        self.dropped = 0

    def record(self, issued: Sequence[IssuedCard], audited: Sequence[AuditedCard], issued_at: datetime) -> None:
        """Queue the records of one response; returns at once, whatever the database does."""
        audited = audited if self.audit is not None else ()
        if not issued and not audited:
            return
        batch = _Batch(tuple(issued), tuple(audited), issued_at)
        with self._cond:
            self._start_if_needed()
            self._queue.append(batch)
            self._queued += batch.size
            while self._queued > self.capacity and len(self._queue) > 1:
                lost = self._queue.popleft()
                self._queued -= lost.size
                self.dropped += lost.size
                log.error("issued cards not recorded: the queue is full while the database is down",
                          extra={"cards": lost.size, "hookInstance": _hook_instance(lost)})
            self._cond.notify()

    def pending_card_ids(self, uuids: Iterable[str]) -> dict[str, str]:
        """Return uuid -> card id for the cards among `uuids` issued by this process and not yet written."""
        wanted = set(uuids)
        with self._cond:
            batches = [*self._queue, *([self._writing] if self._writing else [])]
        return {card.uuid: card.card_id for batch in batches for card in batch.issued if card.uuid in wanted}

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every queued record is written (or dropped); return False if time ran out."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and self._writing is None, timeout_s)

    def _start_if_needed(self) -> None:
        # Called with the lock held. A thread does not survive fork: each worker process starts its own.
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._queue.clear()
        self._queued = 0
        self._writing = None
        threading.Thread(target=self._run, name="card-recorder", daemon=True).start()
        atexit.register(self.flush, EXIT_FLUSH_S)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue))
                batch = self._writing = self._queue.popleft()
                self._queued -= batch.size
            retry = self._write(batch)
            with self._cond:
                self._writing = None
                if retry:
                    self._queue.appendleft(batch)
                    self._queued += batch.size
                self._cond.notify_all()
            if retry:
                with self._cond:
                    self._cond.wait(RETRY_S)

    def _write(self, batch: _Batch) -> bool:
        """Write one batch; return True to try it again later (the database is down)."""
        try:
            self.feedback.record_issued(batch.issued, batch.issued_at)
        except DatabaseUnavailable:
            return True
        except StoreError as error:
            log.error("issued cards not recorded: %s", error, extra={"hookInstance": _hook_instance(batch)})
        if self.audit is not None and batch.audited:
            try:
                self.audit.record(batch.audited, batch.issued_at)
            except DatabaseUnavailable:
                # The issued cards are written (ON CONFLICT DO NOTHING makes writing them again harmless).
                return True
            except StoreError as error:
                log.error("card audit not recorded: %s", error, extra={"hookInstance": _hook_instance(batch)})
        return False


def _hook_instance(batch: _Batch) -> str:
    return batch.issued[0].hook_instance if batch.issued else batch.audited[0].hook_instance
