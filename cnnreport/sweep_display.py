"""The Rich display of a sweep: one overall line (runs done of total, time left) and a line per current run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.progress import Progress, TaskID

from cnnreport.display import progress_columns

OVERALL = "sweep"
FINISHED_STAGES = ("done", "failed")


class SweepBoard:
    """Overall progress counts finished runs plus the fraction done of each running one.

    Only the runs in progress have their own line, so a 27-run sweep stays readable.
    """

    def __init__(self, progress: Progress, names: list[str], already_done: int = 0) -> None:
        self.progress = progress
        self.total = len(names) + already_done
        self.finished = already_done
        self.fraction: dict[str, float] = {}
        self.overall = progress.add_task(OVERALL, total=self.total, stats=self._stats())
        self.tasks: dict[str, TaskID] = {}

    def update(self, update: Any) -> None:
        """Take one reproduce.Update (from a process worker or a Ray task)."""
        if update.stage in FINISHED_STAGES:
            self._finish(update)
        else:
            if update.name not in self.tasks:
                self.tasks[update.name] = self.progress.add_task(update.name, total=None, stats="")
            stats = update.stage + (f"  {update.detail}" if update.detail else "")
            total = update.total or None
            self.progress.update(self.tasks[update.name], completed=update.done, total=total, stats=stats)
            self.fraction[update.name] = update.done / update.total if update.total else 0.0
        completed = self.finished + sum(self.fraction.values())
        self.progress.update(self.overall, completed=completed, stats=self._stats())

    def _finish(self, update: Any) -> None:
        if update.name in self.tasks:
            self.progress.remove_task(self.tasks.pop(update.name))
        if update.stage == "failed":
            self.progress.console.print(f"{update.name}: failed: {update.detail}", markup=False, highlight=False)
        self.fraction.pop(update.name, None)
        self.finished += 1

    def _stats(self) -> str:
        return f"runs done: {self.finished} of {self.total}"


@contextlib.contextmanager
def sweep_board(console: Console, names: list[str], already_done: int = 0) -> Iterator[SweepBoard]:
    """A live SweepBoard for the duration of the block."""
    with Progress(*progress_columns(), console=console) as progress:
        yield SweepBoard(progress, names, already_done)
