"""Run a planned sweep, on this machine (reproduce's process pool) or on a Ray cluster.

Each job is trained (or resumed), evaluated and inspected, like a `reproduce` run, but its
part of the report (and its t-SNE) is left for `report` to make on request: a sweep's runs
are compared in the sweep section, not shown one by one. Printing and exit codes are the
CLI's; this module only checks, plans and runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cnnreport.config import THREADS_PER_CORE, check_range
from cnnreport.errors import BadInput
from cnnreport.jobs.pool import Outcome, Update
from cnnreport.jobs.reproduce import Job, Settings, TrainingProgress, finish_run, run_all, run_job
from cnnreport.jobs.sweep import Plan, SweepSpec, plan
from cnnreport.storage.atomic import refuse_link
from cnnreport.storage.folders import refuse_non_folder
from cnnreport.storage.rundir import RunDir
from cnnreport.system import available_cores, pick_device

OnUpdate = Callable[[Update], None]
MAX_RAY_THREADS = 1024  # per run on a Ray node; more than any node has


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
    from cnnreport.ml.data import require_files

    if where.jobs is not None:
        check_range("--jobs", where.jobs)  # as reproduce's
    if where.threads is not None:  # as train's here; on Ray, the nodes' CPUs bound it too (ray_if_asked)
        most = THREADS_PER_CORE * available_cores() if where.ray is None else MAX_RAY_THREADS
        check_range("--threads", where.threads, 1, most)
    pick_device(where.device)
    refuse_non_folder(where.runs_dir, "runs dir")
    refuse_non_folder(where.runs_dir / spec.name, f"sweep {spec.name}: its folder")
    check_folder(where.runs_dir / spec.name)
    sweep = plan(spec, where.runs_dir)
    for dataset in sorted({job.config.dataset for job in sweep.jobs}):
        require_files(where.data_dir, dataset)
    return sweep


def check_folder(folder: Path) -> None:
    """A sweep's folder may be neither a symbolic link (its runs would land outside the runs dir)
    nor a plain run's folder (the two would share its files)."""
    refuse_link(folder)
    if RunDir(folder).config_file.exists():
        raise BadInput(f"{folder} is a run's folder, not a sweep's; choose another sweep --name")


def train_evaluate_inspect(job: Job, settings: Settings, report: OnUpdate) -> float:
    """Train (or resume), evaluate and inspect one run, skipping steps done; return its test accuracy."""
    progress = TrainingProgress(job.name, report)
    _, metrics = finish_run(job, settings, progress)
    accuracy = float(metrics[-1]["test_accuracy"])
    progress.stage("done", f"test {accuracy:.2%}")
    return accuracy


def run(sweep: Plan, where: Where, connection: Any, on_update: OnUpdate) -> Outcome:
    """Run the sweep's remaining jobs into its folder: as Ray tasks when connected, else `jobs` at a time here."""
    if connection is not None:
        from cnnreport.jobs.ray_runner import run_on_ray

        settings = Settings(sweep.folder, where.data_dir, where.device, where.threads or 1, command=where.command)
        return run_on_ray(sweep.todo, settings, train_evaluate_inspect, on_update)
    processes = min(where.jobs or available_cores(), len(sweep.todo))
    threads = where.threads or max(1, available_cores() // processes)
    settings = Settings(sweep.folder, where.data_dir, where.device, threads, command=where.command)
    return run_all(sweep.todo, settings, processes, on_update, work=train_evaluate_inspect)


@contextlib.contextmanager
def ray_if_asked(address: str | None, threads: int | None = None) -> Iterator[Any]:
    """Connected to the Ray cluster at `address` for the block (None, and no Ray needed, without one).

    A thread count larger than any node's CPUs is refused on connecting: Ray would wait forever.
    """
    if address is None:
        yield None
        return
    from cnnreport.jobs.ray_connect import check_fits, connected

    with connected(address) as ray:
        check_fits(ray, threads or 1)
        yield ray


def on_ray(jobs: list[Job], settings: Settings, on_update: OnUpdate) -> Outcome:
    """reproduce's jobs as Ray tasks (one thread each): each worker trains and renders its run's part."""
    from cnnreport.jobs.ray_runner import run_on_ray

    return run_on_ray(jobs, replace(settings, threads=1), run_job, on_update)
