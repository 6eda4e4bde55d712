"""A token bucket per key, in memory: how many of something each caller may spend per minute.

Hand-written because it is a dozen lines with no I/O; the limiters on PyPI bring a storage backend or a
web-framework integration we do not need. Per process (each gunicorn worker counts alone); the number of
keys held is capped, the least recently used forgotten first, so a flood of callers cannot grow it.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict


class RateLimit:
    def __init__(self, per_minute: int, max_keys: int = 10_000) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens regained per second
        self.max_keys = max_keys
        self._buckets: OrderedDict[object, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def _tokens(self, key: object, now: float) -> float:
        tokens, at = self._buckets.get(key, (self.capacity, now))
        return min(self.capacity, tokens + (now - at) * self.rate)

    def wait_s(self, key: object, now: float) -> int:
        """Seconds until `key` may spend again (0: now), rounded up to whole seconds for Retry-After."""
        with self._lock:
            tokens = self._tokens(key, now)
        return 0 if tokens > 0 else max(1, math.ceil((1 - tokens) / self.rate))

    def spend(self, key: object, amount: int, now: float) -> None:
        """Take `amount` tokens (the balance may go below zero: the wait grows with it)."""
        with self._lock:
            self._buckets[key] = (self._tokens(key, now) - amount, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
