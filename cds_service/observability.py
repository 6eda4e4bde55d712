"""JSON logs and Prometheus metrics, without Flask: the formatter, the metric set and gunicorn's multiprocess dir.

`api/telemetry.py` feeds these from each request; `deploy/gunicorn.conf.py` prepares the multiprocess
directory before any worker starts. Log lines carry ids and timings only, never tokens or patient values.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Latency buckets around the spec's "on the order of 500 ms" budget.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class JsonFormatter(_LibraryJsonFormatter):
    """One JSON object per line: timestamp, level, logger, message, then the record's `extra` fields."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp=True,
        )


class StderrHandler(logging.StreamHandler[TextIO]):
    """Write to the current `sys.stderr` at each record (as the stdlib's last-resort handler does).

    gunicorn and pytest replace sys.stderr after start-up; a stream bound once would write to the old one.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def configure_logging(level: str) -> None:
    """Install one JSON handler on the root logger (once per process) and set our level.

    Idempotent: tests create many apps, and under gunicorn the config file has installed it already.
    """
    root = logging.getLogger()
    if not any(isinstance(handler.formatter, JsonFormatter) for handler in root.handlers):
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    logging.getLogger("cds_service").setLevel(level)


@dataclass(frozen=True)
class Metrics:
    """The service's metrics. One set per app, so apps built by tests do not share counts."""

    requests: Counter
    latency: Histogram
    cards: Counter
    feedback: Counter
    registry: CollectorRegistry | None

    @classmethod
    def create(cls) -> Metrics:
        """Build the metric set: multiprocess when gunicorn set PROMETHEUS_MULTIPROC_DIR, else in-process."""
        # In multiprocess mode values live in files shared by all workers and are read back by a
        # collector at scrape time, so the metrics must not be registered anywhere.
        registry = None if multiprocess_mode() else CollectorRegistry()
        return cls(
            requests=Counter(
                "cds_http_requests", "HTTP requests by route template, method and status.",
                ["route", "method", "status"], registry=registry,
            ),
            latency=Histogram(
                "cds_http_request_duration_seconds", "Time to answer a request, by route template and method.",
                ["route", "method"], buckets=LATENCY_BUCKETS, registry=registry,
            ),
            cards=Counter(
                "cds_cards_emitted", "Cards returned, by service and card (rule) id.",
                ["service", "card_id"], registry=registry,
            ),
            feedback=Counter(
                "cds_feedback_items", "Feedback items received, by service and outcome.",
                ["service", "outcome"], registry=registry,
            ),
            registry=registry,
        )

    def render(self) -> tuple[bytes, str]:
        """Return the exposition text and its content type (all workers' values in multiprocess mode)."""
        registry = self.registry
        if registry is None:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


class MetricsDirInUse(RuntimeError):
    """Another running instance holds the metrics directory; emptying it would blank that one's /metrics."""


_held_locks: list[TextIO] = []  # open for the life of the gunicorn master (and inherited by its workers)


def prepare_multiprocess_dir(path: Path) -> None:
    """Lock, then empty and create the directory shared by the workers (stale files would be summed in).

    The lock (`<path>.lock`, an flock held until this process and its workers exit) keeps a second instance
    started with the same CDS_DATA_DIR from emptying the first one's counters: it is refused instead.

    Raises:
        MetricsDirInUse: a running instance holds the lock.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(path.name + ".lock").open("a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise MetricsDirInUse(f"{path} belongs to a running instance (CDS_DATA_DIR {path.parent}); give this "
                              "one its own CDS_DATA_DIR") from None
    _held_locks.append(lock)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def mark_process_dead(pid: int) -> None:
    """Drop a dead worker's live gauges (gunicorn's child_exit hook); its counters are kept, as they should."""
    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
