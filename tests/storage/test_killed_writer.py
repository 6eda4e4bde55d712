"""A writer process SIGKILLed inside a multi-item transaction: nothing of that request is stored, nothing
acknowledged before is lost, and the next writer is not blocked by the dead one."""

from __future__ import annotations

import os
import signal
import time

from cds_service.config import Settings
from cds_service.protocol import FeedbackItem
from cds_service.storage.stores import Stores
from tests.conftest import NOW
from tests.storage import raw
from tests.storage.workers import SERVICE, die_mid_request, feedback_item, keys, worker_processes


def test_a_writer_killed_mid_transaction_leaves_no_half_request(stores: Stores, storage_settings: Settings) -> None:
    acknowledged = [[feedback_item(f"card-{r}-{n}", n) for n in range(5)] for r in range(3)]
    doomed = [feedback_item(f"doomed-{n}", n) for n in range(20)]
    context = worker_processes()
    receive, send = context.Pipe(duplex=False)
    writer = context.Process(target=die_mid_request, args=(storage_settings, acknowledged, doomed, 12, send))
    writer.start()
    send.close()
    acked: list[str] = []
    while True:
        assert receive.poll(60), "the writer neither acknowledged nor paused"
        kind, payload = receive.recv()
        if kind == "paused":
            assert payload == 12
            break
        assert kind == "ack", (kind, payload)
        acked += payload
    os.kill(writer.pid or 0, signal.SIGKILL)
    writer.join(timeout=10)
    assert writer.exitcode == -signal.SIGKILL

    in_store = {key for (key,) in raw.rows(storage_settings, "SELECT item_key FROM feedback")}
    assert in_store == set(acked) == set(keys([i for request in acknowledged for i in request]))
    # The dead writer's locks are gone: the whole doomed request is stored now, none of it a duplicate.
    started = time.monotonic()
    result = stores.feedback.save(SERVICE, [FeedbackItem.model_validate(i) for i in doomed], NOW)
    assert (result.stored, result.duplicates) == (20, 0)
    assert time.monotonic() - started < storage_settings.database_timeout_s
    assert stores.feedback.count() == 15 + 20

