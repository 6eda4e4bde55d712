"""Identifier sources: random UUIDs in service, a counter in tests so whole responses can be compared."""

from __future__ import annotations

import itertools
import uuid
from typing import Protocol


class IdSource(Protocol):
    def new_id(self) -> str: ...


class RandomIds:
    """Return a fresh UUID4 string."""

    def new_id(self) -> str:
        return str(uuid.uuid4())


class SequentialIds:
    """Return predictable UUID-shaped ids: 00000000-0000-4000-8000-000000000001, ...2, ..."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def new_id(self) -> str:
        return f"00000000-0000-4000-8000-{next(self._counter):012d}"
