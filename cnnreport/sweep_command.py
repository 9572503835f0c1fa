"""The command-line side of `cnnreport sweep`: check everything, then run with one display, then summarise.

cli.py parses the options and calls `execute`; printing and exit codes are decided here
and in cli.py, never in the library modules (sweep, sweep_run, sweep_ray).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from cnnreport.data import require_files
from cnnreport.errors import BadInput
from cnnreport.reproduce import Job, Outcome, Settings, Update
from cnnreport.sweep import Plan, SweepSpec, plan, write_sweep_file
from cnnreport.sweep_display import sweep_board
from cnnreport.system import available_cores, pick_device


@dataclass(frozen=True)
class Where:
    """Where and how the sweep runs: folders, device, parallelism, and Ray's address if any."""

    runs_dir: Path
    data_dir: Path
    device: str = "auto"
    jobs: int | None = None
    threads: int | None = None
    ray: str | None = None
    command: str = ""


def check(spec: SweepSpec, where: Where) -> Plan:
    """Everything a user can get wrong, refused before any folder is made."""
    for name, value in (("--jobs", where.jobs), ("--threads", where.threads)):
        if value is not None and value < 1:
            raise BadInput(f"{name} must be at least 1, not {value}")
    pick_device(where.device)
    sweep = plan(spec, where.runs_dir)
    for dataset in sorted({job.config.dataset for job in sweep.jobs}):
        require_files(where.data_dir, dataset)
    return sweep


def execute(spec: SweepSpec, where: Where, err: Console) -> None:
    """Plan and check, then run (on Ray when asked: connecting first, as a wrong address is bad input too)."""
    sweep = check(spec, where)
    with ray_if_asked(where.ray) as ray:
        if ray is not None:
            from cnnreport.sweep_ray import check_fits

            check_fits(ray, where.threads or 1)
        run_sweep(sweep, where, err, ray)


def run_sweep(sweep: Plan, where: Where, err: Console, connection: Any) -> None:
    """Write sweep.json, run what is left with one display, summarise; exit 1 on failures."""
    spec = sweep.spec
    total, left = len(sweep.jobs), len(sweep.todo)
    write_sweep_file(sweep, where.command)
    err.print(
        f"sweep {spec.name}: {total} runs in {sweep.folder}; {total - left} already finished",
        highlight=False,
        soft_wrap=True,
    )
    outcome = Outcome()
    if sweep.todo:
        with sweep_board(err, [job.name for job in sweep.todo], total - left) as board, _interruptible(err):
            outcome = _run(sweep, where, connection, board.update)
    for name, failure in outcome.failures.items():
        err.print(f"[bold red]error:[/] {escape(f'{name}: {failure}')}", highlight=False, soft_wrap=True)
    done = total - len(outcome.failures)
    summary = f"sweep {spec.name}: {done} of {total} runs finished; `cnnreport report` shows the sweep"
    err.print(summary, markup=False, highlight=False, soft_wrap=True)
    if outcome.failures:
        raise typer.Exit(1)


def _run(sweep: Plan, where: Where, connection: Any, on_update: Any) -> Outcome:
    if connection is not None:
        from cnnreport.sweep_ray import run_on_ray
        from cnnreport.sweep_run import train_evaluate_inspect

        settings = Settings(sweep.folder, where.data_dir, where.device, where.threads or 1, command=where.command)
        return run_on_ray(sweep.todo, settings, train_evaluate_inspect, on_update)
    from cnnreport.sweep_run import run_local

    processes = min(where.jobs or available_cores(), len(sweep.todo))
    threads = where.threads or max(1, available_cores() // processes)
    settings = Settings(sweep.folder, where.data_dir, where.device, threads, command=where.command)
    return run_local(sweep, settings, processes, on_update)


@contextlib.contextmanager
def _interruptible(err: Console) -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        # On Ray a run trained in a worker's temp folder comes back only when finished.
        err.print("interrupted: finished runs (and, outside Ray's temp folders, finished epochs) are saved; "
                  "run the same command again to continue", markup=False, highlight=False, soft_wrap=True)  # fmt: skip
        raise typer.Exit(130) from None


@contextlib.contextmanager
def ray_if_asked(address: str | None) -> Iterator[Any]:
    """Connected to the Ray cluster at `address` for the block; None (and no Ray needed) without one."""
    if address is None:
        yield None
        return
    from cnnreport.sweep_ray import connected

    with connected(address) as ray:
        yield ray


def on_ray(jobs: list[Job], settings: Settings, on_update: Callable[[Update], None]) -> Outcome:
    """reproduce's jobs as Ray tasks (one thread each): each worker trains and renders its run's part."""
    from cnnreport.reproduce import run_job
    from cnnreport.sweep_ray import run_on_ray

    return run_on_ray(jobs, replace(settings, threads=1), run_job, on_update)
