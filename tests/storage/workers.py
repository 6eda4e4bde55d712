"""Code the storage tests run in other processes, and the process context that starts them.

Each worker opens its own stores from the settings, as a gunicorn worker or another replica would.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from typing import Any

from cds_service.config import Settings
from cds_service.protocol import FeedbackItem
from cds_service.storage.database import Database, T, Transaction
from cds_service.storage.feedback import item_key
from cds_service.storage.stores import open_stores

SERVICE = "nxp2-myositis"


def worker_processes() -> multiprocessing.context.ForkServerContext:
    """Start workers from a fork server that imported this module once: a worker starts in milliseconds
    (spawn would import the service again in each), and none inherits the test process's threads or
    connection pools (plain fork would)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def run_together(target: Callable[..., None], argument_lists: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Run `target(*arguments, start_barrier, pipe)` in one process per argument list, all released at once;
    return what each reported, in order. Fails (never hangs) if a process dies or takes over 60 s."""
    context = worker_processes()
    start = context.Barrier(len(argument_lists))
    pipes, processes = [], []
    for arguments in argument_lists:
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=target, args=(*arguments, start, send))
        process.start()
        send.close()
        pipes.append(receive)
        processes.append(process)
    reports = []
    for pipe, process in zip(pipes, processes, strict=True):
        assert pipe.poll(60), f"worker {process.pid} reported nothing within 60 s"
        reports.append(pipe.recv())
        process.join(timeout=10)
    failed = [detail for status, detail in reports if status != "ok"]
    assert not failed, "\n".join(failed)
    return [result for _, result in reports]


def feedback_item(card: str, minute: int) -> dict[str, Any]:
    """A valid overridden-card feedback item; (card, minute) makes it unique."""
    return {
        "card": card,
        "outcome": "overridden",
        "overrideReason": {"reason": {"system": "urn:nxp2-cds:override-reason", "code": "not-appropriate"}},
        "outcomeTimestamp": f"2026-11-24T{minute // 60:02d}:{minute % 60:02d}:00Z",
    }


def keys(items: Sequence[dict[str, Any]]) -> list[str]:
    return [item_key(SERVICE, FeedbackItem.model_validate(i)) for i in items]


def _report(out: Connection, work: Callable[[], Any]) -> None:
    try:
        out.send(("ok", work()))
    except BaseException:
        out.send(("error", traceback.format_exc()))
    finally:
        out.close()


def send_feedback(settings: Settings, requests: list[list[dict[str, Any]]], start: Barrier, out: Connection) -> None:
    """Open the stores, wait for the others, send each request; report what each acknowledged."""

    def work() -> list[tuple[list[str], int, int, int]]:
        stores = open_stores(settings)
        start.wait(timeout=60)
        acknowledged = []
        for items in requests:
            parsed = [FeedbackItem.model_validate(i) for i in items]
            result = stores.feedback.save(SERVICE, parsed, datetime.now(UTC))
            acknowledged.append((keys(items), result.stored, result.duplicates, result.unknown_cards))
        stores.database.close()
        return acknowledged

    _report(out, work)


def remember_jtis(settings: Settings, jtis: list[str], start: Barrier, out: Connection) -> None:
    """Remember each jti once; report the ones this process was first to see."""

    def work() -> list[str]:
        stores = open_stores(settings)
        start.wait(timeout=60)
        expires = time.time() + 300
        fresh = [jti for jti in jtis if stores.replay.remember(jti, "https://ehr.example", expires)]
        stores.database.close()
        return fresh

    _report(out, work)


def start_up(settings: Settings, start: Barrier, out: Connection) -> None:
    """Wait for the others, then open (and so migrate) the stores, as a replica starting up does."""

    def work() -> int:
        start.wait(timeout=60)
        stores = open_stores(settings)
        stores.database.close()
        return os.getpid()

    _report(out, work)


class PausingTransaction:
    """Pass statements through; after `after` feedback inserts, tell the test and hang (to be killed)."""

    def __init__(self, tx: Transaction, after: int, out: Connection) -> None:
        self.tx, self.after, self.out, self.inserts = tx, after, out, 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        changed = self.tx.execute(sql, params)
        if sql.startswith("INSERT INTO feedback"):
            self.inserts += 1
            if self.inserts == self.after:
                self.out.send(("paused", self.inserts))
                time.sleep(600)
        return changed

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.tx.query(sql, params)


class PausingDatabase:
    def __init__(self, inner: Database, after: int, out: Connection) -> None:
        self.inner, self.after, self.out = inner, after, out
        self.backend = inner.backend

    def transact(self, work: Callable[[Transaction], T], what: str) -> T:
        return self.inner.transact(lambda tx: work(PausingTransaction(tx, self.after, self.out)), what)

    def describe(self) -> str:
        return self.inner.describe()

    def close(self) -> None:
        self.inner.close()


def die_mid_request(
    settings: Settings, acknowledged: list[list[dict[str, Any]]], doomed: list[dict[str, Any]], pause_after: int,
    out: Connection,
) -> None:
    """Store the `acknowledged` requests one by one (reporting each), then hang inside `doomed`'s transaction."""
    stores = open_stores(settings)
    for items in acknowledged:
        stores.feedback.save(SERVICE, [FeedbackItem.model_validate(i) for i in items], datetime.now(UTC))
        out.send(("ack", keys(items)))
    stores.feedback.database = PausingDatabase(stores.database, pause_after, out)
    stores.feedback.save(SERVICE, [FeedbackItem.model_validate(i) for i in doomed], datetime.now(UTC))
    out.send(("not killed", None))
