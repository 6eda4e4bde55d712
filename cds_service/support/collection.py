"""When the garbage collector runs in a serving process: after start-up is frozen, and between calls.

Why: CPython starts a collection after every 700 net container allocations. A 500-Observation call
allocates some 30,000 dicts and lists that all live until its answer, so the collector visits them again
and again while the call runs (about 15% of such a call's CPU, measured in process), although a call leaves
almost no cyclic garbage (a few cycles per hundred calls). So in a serving process the collector does not run
on allocation counts: a full collection runs after every `COLLECT_EVERY` calls instead, which keeps memory
flat (`make load` prints the workers' memory over the run).
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Callable, Iterable
from typing import Any

from cds_service.support.heap import keep_freed_memory

COLLECT_EVERY = 1000

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class CollectBetweenCalls:
    """Wrap a WSGI callable: a full collection after every `every`-th call's answer was built."""

    def __init__(self, app: WsgiApp, every: int = COLLECT_EVERY) -> None:
        self.app = app
        self.every = every
        self._calls = itertools.count(1)  # next() is atomic under the GIL: the threads share one count

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answer = self.app(environ, start_response)
        if next(self._calls) % self.every == 0:
            gc.collect()
        return answer


def settle_for_serving(app: Any) -> None:
    """Freeze what start-up built out of the collector's reach; collect between calls, not on allocations;
    keep freed memory for the next call (`support/heap.py`).

    `app` is the Flask app (its `wsgi_app` is wrapped, so middleware and gunicorn see the app unchanged).
    What start-up built (modules, catalogue, value sets, growth references) lives as long as the process:
    frozen, no collection walks those ~120,000 objects again (pauses of tens of ms under load;
    docs/performance.md), and touching them after fork copies pages the workers could share. With
    preload_app this runs once, in the master; the workers inherit it.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    app.wsgi_app = CollectBetweenCalls(app.wsgi_app)
    keep_freed_memory()
