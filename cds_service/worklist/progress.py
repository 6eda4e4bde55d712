"""Progress bars (rich) for the long steps, with counts and rates; silent when stderr is not a terminal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text


class Advance(Protocol):
    def __call__(self, amount: float = 1) -> None: ...


class _Rate(ProgressColumn):
    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("")
        if self.unit == "B":
            return Text(f"{speed / 1e6:.1f} MB/s")
        return Text(f"{speed:,.0f} {self.unit}/s")


class Bars:
    """One bar per step. `Bars(enabled=False)` (not a terminal, or --quiet) draws nothing."""

    def __init__(self, enabled: bool | None = None) -> None:
        console = Console(stderr=True)
        self.enabled = console.is_terminal if enabled is None else enabled
        self.console = console

    @contextmanager
    def step(self, description: str, total: float | None, unit: str = "") -> Iterator[Advance]:
        if not self.enabled:
            yield lambda amount=1: None
            return
        with Progress(TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(),
                      _Rate(unit), TimeElapsedColumn(), console=self.console, transient=False) as progress:
            task = progress.add_task(description, total=total)

            def advance(amount: float = 1) -> None:
                progress.advance(task, amount)

            yield advance

    def note(self, message: str) -> None:
        """A status line (X-Progress of an export, a retry): shown on a terminal only."""
        if self.enabled:
            self.console.print(message, highlight=False, markup=False)
