"""reproduce on one GPU: the runs train one after another in one process; report parts in a pool.

Five processes each holding a CUDA context time-slice one GPU badly: measured on an H200,
each ran an epoch in 15-21 s, slower than one run alone. So this process alone touches the
GPU (training, evaluation, inspection, run after run), and a pool of `processes` CPU workers
makes each finished run's part of the report (t-SNE with scikit-learn, figures) meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from cnnreport.jobs.pool import Outcome, Update, collect, drain, report_home, worker_pool
from cnnreport.jobs.reproduce import Job, Settings, TrainingProgress, job_part, prepare_job

if TYPE_CHECKING:
    from cnnreport.report.document import RunPart


def run_on_one_gpu(jobs: list[Job], settings: Settings, processes: int, on_update: Callable[[Update], None]) -> Outcome:
    """Prepare every job here, in order; hand each finished one to a worker for its report part."""
    outcome = Outcome()
    pending: dict[Future[RunPart], str] = {}
    with worker_pool(processes, settings.threads) as (pool, updates):  # spawned: no copy of this CUDA context
        for job in jobs:
            part = _prepare(job, settings, updates, on_update, outcome)
            if part is not None:
                pending[pool.submit(_part_worker, job, settings, *part)] = job.name
        finished = collect(pending, updates, on_update)
    outcome.parts.update(finished.parts)
    outcome.failures.update(finished.failures)
    return outcome


def _prepare(
    job: Job, settings: Settings, updates: Any, on_update: Callable[[Update], None], outcome: Outcome
) -> tuple[int, list[dict[str, float]]] | None:
    """Train, evaluate and inspect one job here; None (and a recorded failure) if it failed."""

    def relay(update: Update) -> None:  # the workers' news shows while this process trains
        drain(updates, on_update)
        on_update(update)

    try:
        progress, metrics = prepare_job(job, settings, relay)
    except Exception as exc:  # recorded and shown; the other runs go on
        outcome.fail(job.name, exc, on_update)
        return None
    return progress.total, metrics


def _part_worker(job: Job, settings: Settings, total: int, metrics: list[dict[str, float]]) -> RunPart:
    progress = TrainingProgress(job.name, report_home)
    progress.done = progress.total = total  # the job's bar stays full while its part is made
    return job_part(job, settings, progress, metrics)
