"""Run a planned sweep on this machine: reproduce's process pool, one run per worker.

Each job is trained (or resumed), evaluated and inspected, like a `reproduce` run, but its
part of the report (and its t-SNE) is left for `report` to make on request: a sweep's runs
are compared in the sweep section, not shown one by one.
"""

from __future__ import annotations

from collections.abc import Callable

from cnnreport.reproduce import Job, Outcome, Settings, TrainingProgress, Update, needs_work, run_all
from cnnreport.sweep import Plan


def train_evaluate_inspect(job: Job, settings: Settings, report: Callable[[Update], None]) -> float:
    """Train (or resume), evaluate and inspect one run, skipping steps done; return its test accuracy."""
    from cnnreport.anatomy import inspect_run
    from cnnreport.evaluate import evaluate_run
    from cnnreport.runs import create_run
    from cnnreport.system import set_threads
    from cnnreport.train import train_run

    set_threads(settings.threads)
    run = create_run(settings.runs_dir, job.name)
    progress = TrainingProgress(job.name, report)
    report(Update(job.name, "training"))
    metrics = train_run(
        run, job.config, data_dir=settings.data_dir, device=settings.device, resume=True,
        command=settings.command, on_progress=progress,
    )  # fmt: skip
    if needs_work(run):
        progress.stage("evaluating")
        evaluate_run(run, settings.data_dir, settings.device)
        progress.stage("inspecting")
        inspect_run(run, settings.data_dir)
    accuracy = float(metrics[-1]["test_accuracy"])
    progress.stage("done", f"test {accuracy:.2%}")
    return accuracy


def run_local(sweep: Plan, settings: Settings, processes: int, on_update: Callable[[Update], None]) -> Outcome:
    """Run the sweep's remaining jobs, `processes` at a time, into the sweep's folder."""
    return run_all(sweep.todo, settings, processes, on_update, work=train_evaluate_inspect)
