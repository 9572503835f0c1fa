"""The command line: parse options, build a config, call one library function, show results.

Library code stays quiet; everything printed, and every exit code, is decided here.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

from cnnreport import display
from cnnreport.config import PRESETS, ExperimentConfig, default_run_name
from cnnreport.data import default_data_dir, require_files
from cnnreport.errors import BadInput, CnnReportError
from cnnreport.runs import RunDir, create_run, default_runs_dir, resolve_run
from cnnreport.system import pick_device

if TYPE_CHECKING:
    from cnnreport.report import RunPart

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts show defaults in [brackets], not Rich markup
    help="Re-run, inspect and report the small-CNN MNIST study. Exit codes: 0 ok, 1 failure, 2 bad input.",
)
err = Console(stderr=True)

RunsDirOption = Annotated[
    Optional[Path],
    typer.Option("--runs-dir", help="Folder of run directories [env CNNREPORT_RUNS_DIR; default ./runs]."),
]
DataDirOption = Annotated[
    Optional[Path],
    typer.Option("--data-dir", help="Folder with the IDX files [env CNNREPORT_DATA_DIR; default ./data]."),
]
DatasetOption = Annotated[
    Optional[str], typer.Option("--dataset", help="mnist, fashion-mnist or kmnist [train: mnist; others: the run's].")
]
DeviceOption = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout instead of tables.")]
RunArgument = Annotated[str, typer.Argument(help="A run name (inside --runs-dir) or a run directory path.")]


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn our errors into one line on stderr and the documented exit code."""
    try:
        yield
    except CnnReportError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)  # '[/x]' is no tag
        raise typer.Exit(exc.exit_code) from None


def command_line() -> str:
    return shlex.join(["cnnreport", *sys.argv[1:]])


def build_config(preset: str | None, **options: Any) -> ExperimentConfig:
    """The preset (or the defaults) with every option the user gave laid over it."""
    if preset is not None and preset not in PRESETS:
        raise BadInput(f"unknown --preset {preset!r}; choose one of {', '.join(PRESETS)}")
    base = PRESETS[preset].config if preset else ExperimentConfig()
    return base.replace(**{k: v for k, v in options.items() if v is not None})


@app.command()
def train(
    classes: Annotated[Optional[int], typer.Option(help="10, or 4 for the write-up's digit groups [10].")] = None,
    augment: Annotated[
        Optional[bool], typer.Option("--augment/--no-augment", help="Rotation, shift, brightness.")
    ] = None,
    dropout: Annotated[Optional[float], typer.Option(help="Dropout before the output layer; 0 = none [0].")] = None,
    batch_norm: Annotated[
        Optional[bool], typer.Option("--batch-norm/--no-batch-norm", help="BatchNorm after each conv.")
    ] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Epochs to train [10].")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Images per step [20].")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Adam learning rate [0.001].")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Random seed [0].")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Use only the first N training images.")] = None,
    preset: Annotated[
        Optional[str], typer.Option(help=f"Start from a write-up experiment: {', '.join(PRESETS)}.")
    ] = None,
    name: Annotated[Optional[str], typer.Option(help="Run name [derived from the options].")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from its last epoch.")] = False,
    threads: Annotated[Optional[int], typer.Option(help="CPU threads for training [every core].")] = None,
    runs_dir: RunsDirOption = None,
    data_dir: DataDirOption = None,
    dataset: DatasetOption = None,
    device: DeviceOption = "auto",
) -> None:
    """Train one experiment into a run directory (checkpoint after every epoch)."""
    from cnnreport.system import set_threads
    from cnnreport.train import train_run

    with user_errors():
        config = build_config(
            preset, dataset=dataset, classes=classes, augment=augment, dropout=dropout, batch_norm=batch_norm,
            epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, limit=limit,
        )  # fmt: skip
        if threads is not None and threads < 1:
            raise BadInput(f"--threads must be at least 1, not {threads}")
        pick_device(device)  # refuse a bad --device before any folder is made
        run = create_run(runs_dir or default_runs_dir(), name or default_run_name(config))
        set_threads(threads)
        with display.epoch_progress(err) as progress:
            try:
                metrics = train_run(
                    run, config, data_dir=data_dir or default_data_dir(), device=device, resume=resume,
                    command=command_line(), on_progress=progress.update, on_epoch=progress.epoch_done,
                )  # fmt: skip
            except KeyboardInterrupt:
                progress.stop()
                resume_hint = shlex.join(
                    [*shlex.split(command_line()), "--resume"] if not resume else shlex.split(command_line())
                )
                message = f"interrupted: the last complete epoch is saved in {run.path}; resume with: {resume_hint}"
                err.print(message, markup=False, highlight=False, soft_wrap=True)  # one line, copyable
                raise typer.Exit(130) from None
        display.train_summary(err, run, metrics)


@app.command()
def evaluate(
    run: RunArgument,
    runs_dir: RunsDirOption = None,
    data_dir: DataDirOption = None,
    dataset: DatasetOption = None,
    device: DeviceOption = "cpu",
    as_json: JsonOption = False,
) -> None:
    """Evaluate a run on clean train and test data; save predictions, features, metrics."""
    from cnnreport.evaluate import evaluate_run

    with user_errors():
        target = resolve_run(run, runs_dir or default_runs_dir())
        with err.status(f"evaluating {target.name}"):
            result = evaluate_run(target, data_dir or default_data_dir(), device, dataset)
        if as_json:
            print(json.dumps(result))
        else:
            display.evaluation(Console(), result)


@app.command("inspect")
def inspect_command(
    run: Annotated[Optional[str], typer.Argument(help="A run name or path; omit for an untrained model.")] = None,
    classes: Annotated[int, typer.Option(help="Untrained model: 10 or 4.")] = 10,
    batch_norm: Annotated[bool, typer.Option("--batch-norm", help="Untrained model: with BatchNorm.")] = False,
    dropout: Annotated[float, typer.Option(help="Untrained model: dropout probability.")] = 0.0,
    index: Annotated[int, typer.Option(help="Test image whose layer outputs are saved.")] = 0,
    runs_dir: RunsDirOption = None,
    data_dir: DataDirOption = None,
    dataset: DatasetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Architecture table; for a run, also save one image's layer outputs and activation maps."""
    from cnnreport.anatomy import inspect_run, untrained_architecture

    with user_errors():
        if run is None:
            summary = untrained_architecture(ExperimentConfig(classes=classes, batch_norm=batch_norm, dropout=dropout))
        else:
            target = resolve_run(run, runs_dir or default_runs_dir())
            summary = inspect_run(target, data_dir or default_data_dir(), index, dataset)
        if as_json:
            print(json.dumps(summary))
        else:
            display.architecture(Console(), summary)


OutputOption = Annotated[Path, typer.Option("--output", "-o", help="Where to write the HTML report.")]
TsneSamplesOption = Annotated[int, typer.Option(help="Test images in each run's t-SNE (cached per setting).")]
RayOption = Annotated[
    Optional[str],
    typer.Option("--ray", help="Run on a Ray cluster: auto (the one on this machine) or HOST:PORT of its head."),
]


@app.command()
def reproduce(
    output: OutputOption = Path("report.html"),
    jobs: Annotated[Optional[int], typer.Option(help="Experiments trained in parallel [one per core].")] = None,
    seeds: Annotated[int, typer.Option(help="Seeds per experiment (mean ± std in the report).")] = 1,
    quick: Annotated[bool, typer.Option("--quick", help="A few epochs on a subset: a first look in minutes.")] = False,
    tsne_samples: TsneSamplesOption = 2000,
    runs_dir: RunsDirOption = None,
    data_dir: DataDirOption = None,
    device: DeviceOption = "auto",
    ray: RayOption = None,
) -> None:
    """Run the write-up's five experiments (skipping finished work), then render the report."""
    from cnnreport import sweep_command
    from cnnreport.reproduce import Settings, plan, run_all
    from cnnreport.system import available_cores
    from cnnreport.tsne import check_samples

    with user_errors():
        if seeds < 1 or (jobs is not None and jobs < 1):
            raise BadInput("--seeds and --jobs must be at least 1")
        pick_device(device)
        check_samples(tsne_samples)
        require_files(data_dir or default_data_dir(), "mnist")  # one error now, not one per run
        planned = plan(seeds, quick)
        processes = min(jobs or available_cores(), len(planned))
        runs = runs_dir or default_runs_dir()
        settings = Settings(
            runs, data_dir or default_data_dir(), device, threads=max(1, available_cores() // processes),
            tsne_samples=tsne_samples, command=command_line(),
        )  # fmt: skip
        err.print(f"reproducing {len(planned)} runs in {runs}, {processes} at a time", highlight=False)
        with sweep_command.ray_if_asked(ray) as cluster, display.job_board(err, [j.name for j in planned]) as board:
            try:
                if cluster is None:
                    outcome = run_all(planned, settings, processes, board.update)
                else:  # one Ray task per run, one thread each
                    outcome = sweep_command.on_ray(planned, settings, board.update)
            except KeyboardInterrupt:
                board.progress.stop()
                err.print("interrupted: finished epochs are saved; run the same command again to continue")
                raise typer.Exit(130) from None
        for name, failure in outcome.failures.items():
            err.print(f"[bold red]error:[/] {escape(f'{name}: {failure}')}", highlight=False, soft_wrap=True)
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
    from cnnreport.report import build_report

    with err.status("rendering the report") as status:
        build_report(runs, output, on_step=status.update, tsne_samples=tsne_samples, ready=ready, sweeps=sweeps or [])
    err.print(f"report written to {output}", highlight=False)


@app.command()
def report(
    runs: Annotated[Optional[list[str]], typer.Argument(help="Run names or paths [every run in --runs-dir].")] = None,
    output: OutputOption = Path("report.html"),
    tsne_samples: TsneSamplesOption = 2000,
    runs_dir: RunsDirOption = None,
) -> None:
    """Turn run directories into one self-contained HTML report (never trains)."""
    from cnnreport.analysis.sections_sweep import find_sweeps
    from cnnreport.report import select_runs
    from cnnreport.runs import list_runs

    with user_errors():
        folder = runs_dir or default_runs_dir()
        sweeps = find_sweeps(folder)  # a sweep's runs show in its section; name SWEEP/RUN to add a run's part
        chosen = select_runs(folder, runs or []) if runs or not sweeps or list_runs(folder) else []
        render_report(chosen, output, tsne_samples, sweeps=sweeps)


# ---- sweep ------------------------------------------------------------------------------


@app.command()
def sweep(
    file: Annotated[Optional[Path], typer.Argument(help="A TOML sweep file (name, preset, seeds, [grid]).")] = None,
    grid: Annotated[
        Optional[list[str]], typer.Option("--grid", help="OPTION=V1,V2,... : a train option and its values (repeat).")
    ] = None,
    preset: Annotated[Optional[str], typer.Option(help=f"Start every cell from: {', '.join(PRESETS)}.")] = None,
    seeds: Annotated[Optional[int], typer.Option(help="Seeds per cell: 0..N-1 [1].")] = None,
    name: Annotated[Optional[str], typer.Option(help="Sweep name: its folder in --runs-dir [the file's name].")] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Epochs for every cell [the preset's].")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Use only the first N training images in every cell.")] = None,
    jobs: Annotated[Optional[int], typer.Option(help="Runs trained in parallel locally [one per core].")] = None,
    threads: Annotated[Optional[int], typer.Option(help="CPU threads per run [cores / jobs; on Ray: 1].")] = None,
    ray: RayOption = None,
    runs_dir: RunsDirOption = None,
    data_dir: DataDirOption = None,
    device: DeviceOption = "auto",
) -> None:
    """Train a grid of train options times seeds (skipping finished runs), locally or on a Ray cluster."""
    from cnnreport import sweep_command
    from cnnreport.sweep import build_spec

    with user_errors():
        spec = build_spec(
            file, grid or [], name=name, preset=preset, seeds=seeds, fixed={"epochs": epochs, "limit": limit}
        )
        where = sweep_command.Where(
            runs_dir or default_runs_dir(), data_dir or default_data_dir(), device, jobs, threads, ray, command_line()
        )
        sweep_command.execute(spec, where, err)


def main() -> None:
    app()
