"""All Rich output of the CLI: progress bars, tables, summaries. Library code never prints."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from cnnreport.storage.rundir import RunDir

if TYPE_CHECKING:  # only for the annotation: importing the training loop would load torch for --help
    from cnnreport.ml.train import Progress as EpochProgress
    from cnnreport.storage.overview import RunLine


# Control characters (ESC starts a terminal's escape codes), line and paragraph separators, and
# the bidirectional overrides that reorder what a line shows: a run or sweep name (a folder's
# name, a sweep.json's text) may hold any of them, and reaches the terminal only escaped.
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every UNPRINTABLE character written as Python writes it in a string: ESC as \\x1b."""
    return UNPRINTABLE.sub(lambda found: ascii(found.group())[1:-1], text)


class PlainConsole(Console):
    """A console that prints every string literally: run names and paths may hold '[red]' or '[/x]'."""

    def on_broken_pipe(self) -> None:
        """A closed pipe ends the command as it ends `print` (the CLI's user_errors), not with Rich's exit 1."""
        self.quiet = True
        raise BrokenPipeError


def plain_console(stderr: bool = False) -> Console:
    return PlainConsole(stderr=stderr, markup=False, highlight=False)


def literal(text: str) -> Text:
    """Text shown as is (escape codes escaped), for places (spinners) that would otherwise parse markup."""
    return Text(printable(text))


def counted(number: int, noun: str) -> str:
    """'1 run', '2 runs'."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def line(console: Console, text: str) -> None:
    """One literal line, never wrapped, so a command in it stays copyable."""
    console.print(literal(text), soft_wrap=True)


def error(console: Console, message: str) -> None:
    """The one-line error: a red 'error:' and the message, literally."""
    console.print(Text.assemble(("error:", "bold red"), " ", printable(message)), soft_wrap=True)


class EpochBars:
    """One Rich bar per epoch showing images done, loss, running accuracy and speed."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[int, Any] = {}

    def update(self, p: EpochProgress) -> None:
        if p.epoch not in self.tasks:
            self.tasks[p.epoch] = self.progress.add_task(f"epoch {p.epoch}/{p.epochs}", total=p.total, stats="")
        stats = f"loss {p.loss:.4f}  acc {p.accuracy:.2%}  {p.images_per_second:,.0f} img/s"
        self.progress.update(self.tasks[p.epoch], completed=p.seen, stats=stats)

    def epoch_done(self, row: dict[str, float]) -> None:
        task = self.tasks.get(int(row["epoch"]))
        if task is not None:
            stats = self.progress.tasks[task].fields["stats"]
            held_out = "test" if row.get("test_accuracy") is not None else "validation"  # test: last epoch only
            test = f"  {held_out} {row[f'{held_out}_accuracy']:.2%}  {row['seconds']:.1f}s"
            self.progress.update(task, stats=stats + test)

    def stop(self) -> None:
        self.progress.stop()


class PrintableColumn(TextColumn):
    """A text column of a progress bar showing run names and failures with escape codes escaped."""

    def __init__(self, text_format: str) -> None:
        super().__init__(text_format, markup=False)

    def render(self, task: Any) -> Text:
        shown = super().render(task)
        shown.plain = printable(shown.plain)
        return shown


def progress_columns() -> tuple[Any, ...]:
    return (
        PrintableColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        PrintableColumn("{task.fields[stats]}"),
        TimeRemainingColumn(),
    )


@contextlib.contextmanager
def epoch_progress(console: Console) -> Iterator[EpochBars]:
    with Progress(*progress_columns(), console=console) as progress:
        yield EpochBars(progress)


def train_summary(console: Console, run: RunDir, metrics: list[dict[str, float]]) -> None:
    last = metrics[-1]
    total = sum(row["seconds"] for row in metrics)
    line(  # one line: the path stays copyable
        console,
        f"{run.name}: {counted(len(metrics), 'epoch')}, running train accuracy {last['train_accuracy']:.2%}, "
        f"test accuracy {last['test_accuracy']:.2%}, {total:.0f}s of training; saved in {run.path}",
    )


def evaluation(console: Console, result: dict[str, Any]) -> None:
    table = Table(title=literal(f"{result['run']}: test accuracy {result['test_accuracy']:.2%}"))
    for column in ("class", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="right")
    for row in result["per_class"]:
        table.add_row(
            literal(row["class"]),
            f"{row['precision']:.4f}",
            f"{row['recall']:.4f}",
            f"{row['f1']:.4f}",
            str(row["support"]),
        )
    console.print(table)
    console.print(
        f"train accuracy (clean) {result['train_accuracy']:.2%}, running {result['running_train_accuracy']:.2%}; "
        f"ECE {result['ece']:.4f}, NLL {result['nll']:.4f}; {result['params_total']:,} parameters",
        highlight=False,
        markup=False,
    )
    analyses(console, result)


def analyses(console: Console, result: dict[str, Any]) -> None:
    """One line each for the analyses beyond the write-up (absent in older evaluations)."""
    kinds = result.get("robustness", {}).get("kinds", {})
    if kinds:
        worst = ", ".join(f"{kind} {k['strengths'][-1]:g}: {k['accuracy'][-1]:.2%}" for kind, k in kinds.items())
        console.print(f"robustness at the strongest level ({worst})", highlight=False, markup=False)
    merged = result.get("merged_groups")
    if merged:
        console.print(
            f"on the four groups: {merged['accuracy_argmax']:.2%} (argmax then group), "
            f"{merged['accuracy_summed']:.2%} (summed probabilities)",
            highlight=False,
            markup=False,
        )
    if "efficiency" in result:
        cost = result["efficiency"]
        console.print(
            f"{cost['mult_adds']:,} multiply-adds per image; {cost['train_seconds']:.0f}s of training",
            highlight=False,
            markup=False,
        )


def run_lines(console: Console, runs_dir: Path, lines: list[RunLine]) -> None:
    if not lines:
        line(console, f"no runs in {runs_dir}")
        return
    table = Table(title=literal(f"{counted(len(lines), 'run')} in {runs_dir}"))
    for column, justify in (("run", "left"), ("status", "left"), ("epochs", "right"), ("test", "right"),
                            ("training", "right")):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for run_line in lines:
        planned = "?" if run_line.epochs is None else str(run_line.epochs)
        test = "-" if run_line.test_accuracy is None else f"{run_line.test_accuracy:.2%}"
        table.add_row(literal(run_line.name), literal(run_line.status), f"{run_line.epochs_done}/{planned}", test,
                      f"{run_line.seconds:,.0f} s")  # fmt: skip
    console.print(table)


def architecture(console: Console, summary: dict[str, Any]) -> None:
    table = Table(title="Architecture")
    table.add_column("Layer (type)")
    table.add_column("Output shape")
    table.add_column("Param #", justify="right")
    for layer in summary["layers"]:
        table.add_row(literal(layer["name"]), str(layer["output_shape"]), f"{layer['params']:,}")
    console.print(table)
    sizes = summary["sizes_mb"]
    console.print(
        f"Total params: {summary['params_total']:,}  Trainable: {summary['params_trainable']:,}  "
        f"Non-trainable: {summary['params_non_trainable']:,}\n"
        f"Input size (MB): {sizes['input']:.2f}  Forward/backward pass size (MB): {sizes['forward_backward']:.2f}  "
        f"Params size (MB): {sizes['params']:.2f}  Estimated total size (MB): {sizes['total']:.2f}",
        highlight=False,
        markup=False,
    )


class JobBoard:
    """One Rich bar per experiment of `reproduce`, fed by reproduce.Update messages."""

    def __init__(self, progress: Progress, names: list[str]) -> None:
        self.progress = progress
        self.tasks = {name: progress.add_task(name, total=None, stats="waiting") for name in names}

    def update(self, update: Any) -> None:
        stats = update.stage + (f"  {update.detail}" if update.detail else "")
        task = self.tasks[update.name]
        if update.total:
            self.progress.update(task, completed=update.done, total=update.total)
        elif update.stage.startswith("done") and self.progress.tasks[task].total is None:
            self.progress.update(task, completed=1, total=1)  # trained earlier, nothing counted: full, not "0/?"
        # Otherwise an update without counts (Ray's own "done") keeps the images counted so far.
        self.progress.update(task, stats=stats)


@contextlib.contextmanager
def job_board(console: Console, names: list[str]) -> Iterator[JobBoard]:
    with Progress(*progress_columns(), console=console) as progress:
        yield JobBoard(progress, names)


class SweepBoard:
    """A sweep's display: one overall bar (runs done of total, time left) and a bar per run in progress.

    The overall bar counts finished runs plus the fraction done of each running one; only
    the runs in progress have their own line, so a 27-run sweep stays readable.
    """

    def __init__(self, progress: Progress, names: list[str], already_done: int = 0) -> None:
        self.progress = progress
        self.total, self.finished = len(names) + already_done, already_done
        self.fraction: dict[str, float] = {}
        self.overall = progress.add_task("sweep", total=self.total, completed=already_done, stats=self._stats())
        self.tasks: dict[str, Any] = {}

    def update(self, update: Any) -> None:
        """Take one reproduce Update (from a process worker or a Ray task)."""
        if update.stage in ("done", "failed"):
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
            line(self.progress.console, f"{update.name}: failed: {update.detail}")
        self.fraction.pop(update.name, None)
        self.finished += 1

    def _stats(self) -> str:
        return f"runs done: {self.finished} of {self.total}"


@contextlib.contextmanager
def sweep_board(console: Console, names: list[str], already_done: int = 0) -> Iterator[SweepBoard]:
    with Progress(*progress_columns(), console=console) as progress:
        yield SweepBoard(progress, names, already_done)
