"""Commands on many runs: reproduce the write-up, sweep a grid of options, render the report."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from cnnreport import console, system
from cnnreport.cli.common import (
    DataDirOption,
    DeviceOption,
    JsonOption,
    OutputOption,
    RayOption,
    RunsDirOption,
    TsneSamplesOption,
    app,
    command_line,
    err,
    user_errors,
)
from cnnreport.config import check_range, range_text
from cnnreport.presets import CHOOSABLE
from cnnreport.storage.documents import finite_only
from cnnreport.storage.outputs import check_report_output
from cnnreport.storage.rundir import RunDir, default_runs_dir, resolve_run
from cnnreport.system import pick_device

if TYPE_CHECKING:
    from cnnreport.report.document import RunPart


@app.command()
def reproduce(
    output: OutputOption = Path("report.html"),
    jobs: Annotated[
        Optional[int],
        typer.Option(
            metavar="N",
            help=f"Runs trained in parallel, cores split between them, {range_text('--jobs')} [one per core].",
        ),
    ] = None,
    seeds: Annotated[
        int,
        typer.Option(metavar="K", help=f"Seeds per experiment, {range_text('--seeds')} (mean ± std in the report)."),
    ] = 1,
    quick: Annotated[bool, typer.Option("--quick", help="A few epochs on a subset: a first look in minutes.")] = False,
    with_tuned: Annotated[
        bool, typer.Option("--with-tuned", help="Also train the tuned preset (not the write-up's).")
    ] = False,
    ablation: Annotated[
        bool, typer.Option("--ablation", help="Also train the tuned preset and its runs without one ingredient each.")
    ] = False,
    tsne_samples: TsneSamplesOption = 2000,
    runs_dir: RunsDirOption = None,
    data_dir: DataDirOption = None,
    dataset: Annotated[
        str, typer.Option(metavar="DATASET", help="mnist, fashion-mnist or kmnist: the five experiments on it.")
    ] = "mnist",
    device: DeviceOption = "auto",
    ray: RayOption = None,
) -> None:
    """Run the write-up's five experiments, then render the report.

    With --with-tuned or --ablation, also the tuned recipe. Finished work is skipped.
    """
    with user_errors():
        from cnnreport.jobs import sweep_run
        from cnnreport.jobs.reproduce import Settings, plan, run_all, uses_one_gpu
        from cnnreport.ml.data import default_data_dir, require_files

        check_range("--seeds", seeds)
        if jobs is not None:
            check_range("--jobs", jobs)
        check_range("--tsne-samples", tsne_samples)
        pick_device(device)
        runs = runs_dir or default_runs_dir()
        check_report_output(output, runs)  # a report that cannot be written is refused before any training
        planned = plan(seeds, quick, dataset, with_tuned, ablation)  # refuses an unknown dataset
        require_files(data_dir or default_data_dir(), dataset)  # one error now, not one per run
        processes = min(jobs or system.available_cores(), len(planned))
        settings = Settings(
            runs, data_dir or default_data_dir(), device, threads=max(1, system.available_cores() // processes),
            tsne_samples=tsne_samples, command=command_line(),
        )  # fmt: skip
        at_a_time = "one at a time on the GPU" if uses_one_gpu(settings) else f"{processes} at a time"
        console.line(err, f"reproducing {len(planned)} runs in {runs}, {at_a_time}")
        with sweep_run.ray_if_asked(ray) as cluster, console.job_board(err, [j.name for j in planned]) as board:
            try:
                if cluster is None:
                    outcome = run_all(planned, settings, processes, board.update)
                else:  # one Ray task per run, one thread each
                    outcome = sweep_run.on_ray(planned, settings, board.update)
            except KeyboardInterrupt:
                board.progress.stop()
                console.line(err, "interrupted: finished epochs are saved; run the same command again to continue")
                raise typer.Exit(130) from None
        for name, failure in outcome.failures.items():
            console.error(err, f"{name}: {failure}")
        finished = [resolve_run(job.name, runs) for job in planned if job.name not in outcome.failures]
        if finished:
            render_report(finished, output, tsne_samples, outcome.parts)
        if outcome.failures:
            raise typer.Exit(1)


def render_report(
    runs: list[RunDir],
    output: Path,
    tsne_samples: int,
    ready: Mapping[str, RunPart] | None = None,
    sweeps: list[Path] | None = None,
) -> None:
    from cnnreport.report.build import build_report

    with err.status(console.literal("rendering the report")) as status:
        step = lambda text: status.update(console.literal(text))  # noqa: E731 - run names are never markup
        build_report(runs, output, on_step=step, tsne_samples=tsne_samples, ready=ready, sweeps=sweeps or [])
    held = ", ".join(report_holds(runs, sweeps or []))
    size = output.stat().st_size / 1e6  # a report is one file to mail or upload: its size matters
    console.line(err, f"report written to {output} ({held}; {size:.1f} MB)")


def report_holds(runs: Sequence[RunDir], sweeps: Sequence[Path]) -> list[str]:
    """'6 runs', or '1 sweep of 4 runs' for a report of a sweep alone: what the final line counts."""
    from cnnreport.report.sections.sweep import sweep_runs

    swept = sum(len(sweep_runs(folder)) for folder in sweeps)
    counts = [console.counted(len(runs), "run")] if runs or not sweeps else []
    return counts + ([f"{console.counted(len(sweeps), 'sweep')} of {console.counted(swept, 'run')}"] if sweeps else [])


@app.command()
def report(
    runs: Annotated[
        Optional[list[str]],
        typer.Argument(metavar="RUN|SWEEP", help="Run or sweep names, or paths [every run and sweep in --runs-dir]."),
    ] = None,
    output: OutputOption = Path("report.html"),
    tsne_samples: TsneSamplesOption = 2000,
    runs_dir: RunsDirOption = None,
) -> None:
    """Render run directories as one self-contained HTML report. Never trains."""
    with user_errors():
        from cnnreport.report.build import select_contents

        check_range("--tsne-samples", tsne_samples)
        folder = runs_dir or default_runs_dir()
        check_report_output(output, folder)
        # A sweep's runs show in its section; name SWEEP/RUN to add a run's own part.
        chosen, sweeps = select_contents(folder, runs or [])
        render_report(chosen, output, tsne_samples, sweeps=sweeps)


SWEEP_INTERRUPTED = (
    "interrupted: finished runs (and, outside Ray's temp folders, finished epochs) are saved; "
    "run the same command again to continue"
)


@app.command()
def sweep(
    file: Annotated[
        Optional[Path], typer.Argument(metavar="FILE.toml", help="A TOML sweep file (name, preset, seeds, [grid]).")
    ] = None,
    grid: Annotated[
        Optional[list[str]],
        typer.Option(
            "--grid", metavar="OPTION=V1,V2,...", help="OPTION=V1,V2,... : a train option and its values (repeat)."
        ),
    ] = None,
    preset: Annotated[
        Optional[str], typer.Option(metavar="ID", help=f"Start every cell from: {', '.join(CHOOSABLE)}.")
    ] = None,
    seeds: Annotated[
        Optional[int],
        typer.Option(metavar="K", help=f"Seeds per cell, N in {range_text('--seeds')}: seeds 0..N-1 [1]."),
    ] = None,
    name: Annotated[
        Optional[str], typer.Option(metavar="NAME", help="Sweep name: its folder in --runs-dir [the file's name].")
    ] = None,
    epochs: Annotated[Optional[int], typer.Option(metavar="N", help="Epochs for every cell [the preset's].")] = None,
    limit: Annotated[
        Optional[int], typer.Option(metavar="N", help="Use only the first N training images in every cell.")
    ] = None,
    jobs: Annotated[
        Optional[int], typer.Option(metavar="N", help="Runs trained in parallel locally [one per core].")
    ] = None,
    threads: Annotated[
        Optional[int], typer.Option(metavar="N", help="CPU threads per run [cores / jobs; on Ray: 1].")
    ] = None,
    ray: RayOption = None,
    runs_dir: RunsDirOption = None,
    data_dir: DataDirOption = None,
    device: DeviceOption = "auto",
) -> None:
    """Train a grid of train options times seeds, here or on Ray. Finished runs are skipped."""
    with user_errors(SWEEP_INTERRUPTED):
        from cnnreport.jobs import sweep_run
        from cnnreport.jobs.sweep import build_spec, write_sweep_file
        from cnnreport.ml.data import default_data_dir

        fixed = {"epochs": epochs, "limit": limit}
        spec = build_spec(file, grid or [], name=name, preset=preset, seeds=seeds, fixed=fixed)
        where = sweep_run.Where(
            runs_dir or default_runs_dir(), data_dir or default_data_dir(), device, jobs, threads, ray, command_line()
        )
        planned = sweep_run.check(spec, where)
        total, left = len(planned.jobs), len(planned.todo)
        with sweep_run.ray_if_asked(ray, threads) as cluster:  # a wrong address is bad input too
            write_sweep_file(planned, where.command)
            console.line(err, f"sweep {spec.name}: {total} runs in {planned.folder}; {total - left} already finished")
            with console.sweep_board(err, [job.name for job in planned.todo], total - left) as board:
                failures = sweep_run.run(planned, where, cluster, board.update).failures if left else {}
        for run_name, failure in failures.items():
            console.error(err, f"{run_name}: {failure}")
        finished = f"{total - len(failures)} of {total} runs finished"
        console.line(err, f"sweep {spec.name}: {finished}; `cnnreport report` shows the sweep")
        if failures:
            raise typer.Exit(1)


@app.command("list")
def list_command(runs_dir: RunsDirOption = None, as_json: JsonOption = False) -> None:
    """List the runs: status, epochs, test accuracy, training time.

    Every run in the runs dir, then each sweep's runs as SWEEP/RUN, the name `report` and
    `evaluate` take. Reads only the runs' JSON files: quick, and safe while runs train.
    """
    with user_errors():
        from cnnreport.storage.overview import overview

        folder = runs_dir or default_runs_dir()
        lines = overview(folder)
        if as_json:
            runs = [finite_only(dataclasses.asdict(line), "", {}) for line in lines]  # a hand-edited 1e999 is no JSON
            print(json.dumps({"runs_dir": str(folder), "runs": runs}, allow_nan=False))
        else:
            console.run_lines(console.plain_console(), folder, lines)
