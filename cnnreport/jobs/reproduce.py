"""Reproduce the whole write-up: plan the runs, train/evaluate/inspect them in parallel.

Each run is written only by the one process that trains it (train_run holds the run's
lock). Finished work is skipped without rewriting any of its files, half-finished runs
resume, so running the same command again after an interruption continues where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnreport.ablation import run_name, used_ingredients, without
from cnnreport.analyses.tsne import DEFAULT_SAMPLES
from cnnreport.config import ExperimentConfig
from cnnreport.errors import CnnReportError
from cnnreport.jobs.pool import Outcome, Update, collect, reporting, worker_pool
from cnnreport.presets import PRESETS, TUNED
from cnnreport.storage.rundir import RunDir, create_run

if TYPE_CHECKING:
    from cnnreport.report.document import RunPart

QUICK_IMAGES = 3000  # training images per quick run: enough for a first look in seconds
QUICK_EPOCHS = 2


@dataclass(frozen=True)
class Job:
    """One run of the reproduction: where it goes and what it trains."""

    name: str
    config: ExperimentConfig


def plan(
    seeds: int = 1, quick: bool = False, dataset: str = "mnist", with_tuned: bool = False, ablation: bool = False
) -> list[Job]:
    """The write-up's five experiments (times `seeds`) on `dataset`, costliest first to finish soonest.

    `with_tuned` adds the tuned recipe; `ablation` adds it and its runs without one ingredient each.
    Another dataset's runs are named after it (`kmnist-mnist10`, like `train` names them), so
    they never resume or skip an MNIST run of the same experiment.
    """
    prefix = "" if dataset == "mnist" else f"{dataset}-"
    named = [(preset.id, preset.config) for preset in PRESETS.values()]
    named += [(TUNED.id, TUNED.config)] if with_tuned or ablation else []
    jobs = []
    for base, recipe in named:
        for seed in range(seeds):
            name = prefix + base + (f"-seed{seed}" if seed else "")
            jobs.append(_job(name, recipe.replace(seed=seed, dataset=dataset), quick))
    for ingredient in used_ingredients() if ablation else []:
        for seed in range(seeds):
            config = without(ingredient).replace(seed=seed, dataset=dataset)
            jobs.append(_job(prefix + run_name(ingredient, seed), config, quick))
    return sorted(jobs, key=lambda job: -relative_cost(job.config))


def _job(name: str, config: ExperimentConfig, quick: bool) -> Job:
    if quick:
        return Job(f"quick-{name}", config.replace(limit=QUICK_IMAGES, epochs=min(config.epochs, QUICK_EPOCHS)))
    return Job(name, config)


def relative_cost(config: ExperimentConfig) -> float:
    """Training time in plain epochs, measured: augmentation or batch norm add about a sixth.

    Starting the costliest jobs first keeps parallel workers evenly busy to the end.
    """
    augmented = config.augment or config.mild_augment
    return config.epochs * (1 + 0.15 * augmented + 0.2 * config.batch_norm)


def finished_metrics(run: RunDir, config: ExperimentConfig) -> list[dict[str, float]] | None:
    """A finished run's metrics, read without rewriting anything; None when training has work to do.

    train_run would also return them, but it rewrites metrics.json and run.json on the way.
    Whatever is off (another config, a missing or damaged file, a kill after the last
    checkpoint) is left to train_run, which resumes or explains it.
    """
    try:
        if run.read_status().get("status") != "finished" or not run.checkpoint_file.exists():
            return None
        if run.read_config() != config:
            return None
        metrics = run.read_metrics()
    except CnnReportError:
        return None
    return metrics if len(metrics) == config.epochs else None


def needs_work(run: RunDir) -> bool:
    """True unless the run is trained, evaluated and inspected after its last checkpoint."""
    outputs = (run.checkpoint_file, run.evaluation_file, run.anatomy_file, run.layer_outputs_file)
    if not all(path.exists() for path in outputs) or run.read_status().get("status") != "finished":
        return True
    checkpoint_time = run.checkpoint_file.stat().st_mtime
    return any(path.stat().st_mtime < checkpoint_time for path in outputs[1:])


@dataclass(frozen=True)
class Settings:
    """Where and how every job of one reproduce runs."""

    runs_dir: Path
    data_dir: Path
    device: str = "auto"
    threads: int = 1  # per job: the cores split between parallel jobs
    tsne_samples: int = DEFAULT_SAMPLES
    command: str = ""


def run_job(job: Job, settings: Settings, report: Callable[[Update], None]) -> RunPart:
    """Train (or resume), evaluate, inspect and embed one job, skipping steps already done;
    return the job's part of the report.

    The report part, t-SNE included (cached in the run dir), is made here, in parallel
    with the other jobs, so that the report at the end only assembles.
    """
    progress, metrics = prepare_job(job, settings, report)
    return job_part(job, settings, progress, metrics)


def prepare_job(
    job: Job, settings: Settings, report: Callable[[Update], None]
) -> tuple[TrainingProgress, list[dict[str, float]]]:
    """The part of a job that uses the device: train (or resume), evaluate, inspect."""
    progress = TrainingProgress(job.name, report)
    _, metrics = finish_run(job, settings, progress)
    return progress, metrics


def finish_run(job: Job, settings: Settings, progress: TrainingProgress) -> tuple[RunDir, list[dict[str, float]]]:
    """Train (or resume), evaluate and inspect one job, skipping steps already done; the run and its metrics."""
    from cnnreport.jobs.evaluate import evaluate_run
    from cnnreport.jobs.inspection import inspect_run
    from cnnreport.ml.train import train_run
    from cnnreport.system import set_threads

    set_threads(settings.threads)
    run = create_run(settings.runs_dir, job.name)
    progress.report(Update(job.name, "training"))
    metrics = finished_metrics(run, job.config)
    if metrics is None:
        metrics = train_run(
            run, job.config, data_dir=settings.data_dir, device=settings.device, resume=True,
            command=settings.command, on_progress=progress, default_threads=settings.threads,
        )  # fmt: skip
    if needs_work(run):
        progress.stage("evaluating")
        evaluate_run(run, settings.data_dir, settings.device)
        progress.stage("inspecting")
        inspect_run(run, settings.data_dir)
    return run, metrics


def job_part(job: Job, settings: Settings, progress: TrainingProgress, metrics: list[dict[str, float]]) -> RunPart:
    """The CPU-only rest of a job: its part of the report, t-SNE included."""
    from cnnreport.analyses.tsne import TsneParams
    from cnnreport.report import build
    from cnnreport.report.results import RunResults

    run = create_run(settings.runs_dir, job.name)
    part = build.run_part(RunResults(run), TsneParams(settings.tsne_samples), progress.report_step)
    progress.stage("done" if progress.total else "done (trained earlier)", f"test {metrics[-1]['test_accuracy']:.2%}")
    return part


class TrainingProgress:
    """Turns per-epoch training progress into Updates counting images over all epochs."""

    def __init__(self, name: str, report: Callable[[Update], None]) -> None:
        self.name, self.report = name, report
        self.done = self.total = 0

    def __call__(self, p: Any) -> None:
        self.done, self.total = (p.epoch - 1) * p.total + p.seen, p.total * p.epochs
        detail = f"epoch {p.epoch}/{p.epochs}  loss {p.loss:.4f}  acc {p.accuracy:.2%}  {p.images_per_second:,.0f}/s"
        self.report(Update(self.name, "training", self.done, self.total, detail))

    def stage(self, stage: str, detail: str = "") -> None:
        self.report(Update(self.name, stage, self.total, self.total, detail))

    def report_step(self, title: str) -> None:
        """A step of rendering this run's part of the report."""
        self.stage(f"report: {title}")


# What a worker does with one job: run_job by default; sweeps pass their own (no report part).
Work = Callable[[Job, Settings, Callable[[Update], None]], Any]


def run_all(
    jobs: list[Job], settings: Settings, processes: int, on_update: Callable[[Update], None], work: Work = run_job
) -> Outcome:
    """Run every job, `processes` at a time. One failing run does not stop the others.

    On CUDA the runs train one after another in this process and `processes` make report parts.
    """
    if uses_one_gpu(settings) and work is run_job:
        from cnnreport.jobs.one_gpu import run_on_one_gpu

        return run_on_one_gpu(jobs, settings, processes, on_update)
    if processes == 1:
        return _run_inline(jobs, settings, on_update, work)
    with worker_pool(processes, settings.threads) as (pool, updates):
        pending = {pool.submit(reporting, work, job, settings): job.name for job in jobs}
        return collect(pending, updates, on_update)


def uses_one_gpu(settings: Settings) -> bool:
    """True when the jobs train on CUDA: then one process holds the GPU (jobs.one_gpu)."""
    from cnnreport.system import pick_device

    return pick_device(settings.device).type == "cuda"


def _run_inline(jobs: list[Job], settings: Settings, on_update: Callable[[Update], None], work: Work) -> Outcome:
    outcome = Outcome()
    for job in jobs:
        try:
            outcome.parts[job.name] = work(job, settings, on_update)
        except Exception as exc:
            outcome.fail(job.name, exc, on_update)
    return outcome
