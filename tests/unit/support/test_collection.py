"""The serving process's garbage collection: off on allocation counts, a full collection every n calls."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from cds_service.support.collection import CollectBetweenCalls, settle_for_serving


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def collector_off() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    yield
    gc.unfreeze()
    if was_enabled:
        gc.enable()


def leaking_app(alive: list[weakref.ref[Node]]) -> Callable[[dict[str, Any], Callable[..., Any]], list[bytes]]:
    """A WSGI app whose every call leaves a reference cycle behind (garbage only a collection frees)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        first, second = Node(), Node()
        first.other, second.other = second, first
        alive.append(weakref.ref(first))
        start_response("200 OK", [])
        return [b"ok"]

    return app


def test_cycles_left_by_calls_are_collected_after_every_nth_call(collector_off: None) -> None:
    alive: list[weakref.ref[Node]] = []
    app = CollectBetweenCalls(leaking_app(alive), every=3)
    for _ in range(2):
        assert app({}, lambda *args: None) == [b"ok"]
    assert [ref() is not None for ref in alive] == [True, True]  # no collection on the way
    app({}, lambda *args: None)
    assert [ref() is not None for ref in alive] == [False, False, False]
    app({}, lambda *args: None)
    assert [ref() is not None for ref in alive] == [False, False, False, True]


def test_settling_freezes_start_up_and_turns_allocation_collections_off(collector_off: None) -> None:
    gc.enable()
    app = Flask("settle")
    inner = app.wsgi_app
    built_at_start_up = [Node() for _ in range(10)]
    settle_for_serving(app)
    assert not gc.isenabled()
    assert gc.get_freeze_count() >= len(built_at_start_up)
    assert isinstance(app.wsgi_app, CollectBetweenCalls) and app.wsgi_app.app == inner
