"""The command line: parse options, build a config, call one library function, show results.

An adapter only: library code stays quiet; everything printed (through console.py), and
every exit code, is decided here. Commands import their library code when they run, so
`cnnreport --help` never loads torch.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from cnnreport import console, system
from cnnreport.config import (
    CHOOSABLE,
    LR_MAX,
    THREADS_PER_CORE,
    WEIGHT_DECAY_MAX,
    ExperimentConfig,
    check_range,
    default_run_name,
    preset_config,
    range_text,
)
from cnnreport.errors import BadInput, CnnReportError
from cnnreport.storage.atomic import check_output
from cnnreport.storage.rundir import RunDir, create_run, default_runs_dir, resolve_run
from cnnreport.system import pick_device

if TYPE_CHECKING:
    from cnnreport.report.document import RunPart

click_errors: Any
try:  # typer 0.2x carries its own copy of Click; older ones use Click itself
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors  # type: ignore[no-redef]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts show defaults in [brackets], not Rich markup
    help="Re-run, inspect and report the small-CNN MNIST study. Exit codes: 0 ok, 1 failure, 2 bad input.",
)
err = console.plain_console(stderr=True)  # user text (names, paths, file contents) is never markup

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


INTERRUPTED = "interrupted: stopped before finishing; files already written are complete, run the command again"


@contextlib.contextmanager
def user_errors(interrupted: str = INTERRUPTED) -> Iterator[None]:
    """Turn every error into one line on stderr and an exit code of 1, 2 or 130; never a traceback."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # library warnings are not for our users; errors say it all
            yield
    except (typer.Exit, typer.Abort, click_errors.ClickException):
        raise
    except CnnReportError as exc:
        console.error(err, str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        console.line(err, interrupted)
        raise typer.Exit(130) from None
    except Exception as exc:  # noqa: BLE001 - a bug still ends as one line, exit 1
        first_line = (str(exc).strip().splitlines() or [""])[0]
        console.error(err, f"unexpected {type(exc).__name__}: {first_line}")
        raise typer.Exit(1) from None


def command_line() -> str:
    return shlex.join(["cnnreport", *sys.argv[1:]])


def build_config(preset: str | None, **options: Any) -> ExperimentConfig:
    """The preset (or the defaults) with every option the user gave laid over it."""
    base = preset_config(preset) if preset is not None else ExperimentConfig()
    return base.replace(**{k: v for k, v in options.items() if v is not None})


def parse_widths(text: str | None) -> tuple[int, ...] | None:
    """`--widths 12,10,8` as a tuple; the config checks count and range."""
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise BadInput(f"--widths must be three whole numbers separated by commas, like 16,8,4, not {text!r}") from None


@app.command()
def train(
    classes: Annotated[Optional[int], typer.Option(help="10, or 4 for the write-up's digit groups [10].")] = None,
    augment: Annotated[
        Optional[bool], typer.Option("--augment/--no-augment", help="Rotation, shift, brightness.")
    ] = None,
    dropout: Annotated[
        Optional[float], typer.Option(help="Dropout before the output layer, in [0, 1); 0 = none [0].")
    ] = None,
    batch_norm: Annotated[
        Optional[bool], typer.Option("--batch-norm/--no-batch-norm", help="BatchNorm after each conv.")
    ] = None,
    epochs: Annotated[Optional[int], typer.Option(help=f"Epochs to train, {range_text('--epochs')} [10].")] = None,
    batch_size: Annotated[
        Optional[int], typer.Option(help=f"Images per step, {range_text('--batch-size')} [20].")
    ] = None,
    lr: Annotated[Optional[float], typer.Option(help=f"Adam learning rate, in (0, {LR_MAX:g}] [0.001].")] = None,
    seed: Annotated[Optional[int], typer.Option(help=f"Random seed, {range_text('--seed')} [0].")] = None,
    limit: Annotated[
        Optional[int], typer.Option(help=f"Use only the first N training images, N in {range_text('--limit')}.")
    ] = None,
    schedule: Annotated[
        Optional[str], typer.Option(help="LR per batch: constant, onecycle (--lr is the peak) or cosine [constant].")
    ] = None,
    label_smoothing: Annotated[Optional[float], typer.Option(help="Label smoothing, in [0, 1) [0].")] = None,
    weight_decay: Annotated[
        Optional[float], typer.Option(help=f"AdamW weight decay, in [0, {WEIGHT_DECAY_MAX:g}]; 0 = plain Adam [0].")
    ] = None,
    widths: Annotated[
        Optional[str],
        typer.Option(help=f"Output channels of the 3 convolutions, each in {range_text('--widths')} [16,8,4]."),
    ] = None,
    validation: Annotated[
        Optional[int],
        typer.Option(
            help=f"Hold out the last N training images, N in {range_text('--validation')}; "
            "the test set is scored once, at the end [0]."
        ),
    ] = None,
    preset: Annotated[
        Optional[str], typer.Option(help=f"Start from a preset: {', '.join(CHOOSABLE)} (tuned: not the write-up's).")
    ] = None,
    name: Annotated[Optional[str], typer.Option(help="Run name [derived from the options].")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from its last epoch.")] = False,
    threads: Annotated[
        Optional[int],
        typer.Option(
            help=f"CPU threads for training, 1..{THREADS_PER_CORE}x the cores [every core; "
            "on --resume the run's own count, which keeps the result exact]."
        ),
    ] = None,
    runs_dir: RunsDirOption = None,
    data_dir: DataDirOption = None,
    dataset: DatasetOption = None,
    device: DeviceOption = "auto",
    cuda_graph: Annotated[
        bool, typer.Option("--cuda-graph/--no-cuda-graph", help="On CUDA, replay each step from one CUDA graph.")
    ] = True,
) -> None:
    """Train one experiment into a run directory (checkpoint after every epoch)."""
    with user_errors():
        from cnnreport.ml.data import default_data_dir
        from cnnreport.ml.train import train_run

        config = build_config(
            preset, dataset=dataset, classes=classes, augment=augment, dropout=dropout, batch_norm=batch_norm,
            epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, limit=limit, schedule=schedule,
            label_smoothing=label_smoothing, weight_decay=weight_decay, widths=parse_widths(widths),
            validation=validation,
        )  # fmt: skip
        if threads is not None:
            check_range("--threads", threads, 1, THREADS_PER_CORE * system.available_cores())
        pick_device(device)  # refuse a bad --device before any folder is made
        run = create_run(runs_dir or default_runs_dir(), name or default_run_name(config))
        with console.epoch_progress(err) as progress:
            try:
                metrics = train_run(
                    run, config, data_dir=data_dir or default_data_dir(), device=device, resume=resume,
                    command=command_line(), on_progress=progress.update, on_epoch=progress.epoch_done,
                    threads=threads, on_notice=lambda text: console.line(err, f"note: {text}"),
                    cuda_graph=cuda_graph,
                )  # fmt: skip
            except KeyboardInterrupt:
                progress.stop()
                resume_hint = shlex.join(
                    [*shlex.split(command_line()), "--resume"] if not resume else shlex.split(command_line())
                )
                message = f"interrupted: the last complete epoch is saved in {run.path}; resume with: {resume_hint}"
                console.line(err, message)  # one line, copyable
                raise typer.Exit(130) from None
        console.train_summary(err, run, metrics)


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
    with user_errors():
        from cnnreport.jobs.evaluate import evaluate_run
        from cnnreport.ml.data import default_data_dir

        target = resolve_run(run, runs_dir or default_runs_dir())
        with err.status(console.literal(f"evaluating {target.name}")):
            result = evaluate_run(target, data_dir or default_data_dir(), device, dataset)
        if as_json:
            print(json.dumps(result))
        else:
            console.evaluation(console.plain_console(), result)


@app.command("inspect")
def inspect_command(
    run: Annotated[Optional[str], typer.Argument(help="A run name or path; omit for an untrained model.")] = None,
    classes: Annotated[int, typer.Option(help="Untrained model: 10 or 4.")] = 10,
    batch_norm: Annotated[bool, typer.Option("--batch-norm", help="Untrained model: with BatchNorm.")] = False,
    dropout: Annotated[float, typer.Option(help="Untrained model: dropout probability.")] = 0.0,
    index: Annotated[int, typer.Option(help=f"Test image whose layer outputs are saved, {range_text('--index')}.")] = 0,
    runs_dir: RunsDirOption = None,
    data_dir: DataDirOption = None,
    dataset: DatasetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Architecture table; for a run, also save one image's layer outputs and activation maps."""
    with user_errors():
        from cnnreport.analyses.anatomy import untrained_architecture
        from cnnreport.jobs.inspection import inspect_run
        from cnnreport.ml.data import default_data_dir

        check_range("--index", index)
        if run is None:
            summary = untrained_architecture(ExperimentConfig(classes=classes, batch_norm=batch_norm, dropout=dropout))
        else:
            target = resolve_run(run, runs_dir or default_runs_dir())
            summary = inspect_run(target, data_dir or default_data_dir(), index, dataset)
        if as_json:
            print(json.dumps(summary))
        else:
            console.architecture(console.plain_console(), summary)


OutputOption = Annotated[Path, typer.Option("--output", "-o", help="Where to write the HTML report.")]
TsneSamplesOption = Annotated[
    int, typer.Option(help=f"Test images in each run's t-SNE, {range_text('--tsne-samples')} (cached per setting).")
]
RayOption = Annotated[
    Optional[str],
    typer.Option("--ray", help="Run on a Ray cluster: auto (the one on this machine) or HOST:PORT of its head."),
]


@app.command()
def reproduce(
    output: OutputOption = Path("report.html"),
    jobs: Annotated[
        Optional[int],
        typer.Option(
            help=f"Runs trained in parallel, cores split between them, {range_text('--jobs')} [one per core]."
        ),
    ] = None,
    seeds: Annotated[
        int, typer.Option(help=f"Seeds per experiment, {range_text('--seeds')} (mean ± std in the report).")
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
    dataset: Annotated[str, typer.Option(help="mnist, fashion-mnist or kmnist: the five experiments on it.")] = "mnist",
    device: DeviceOption = "auto",
    ray: RayOption = None,
) -> None:
    """Run the write-up's five experiments (and, if asked, the tuned recipe), skipping finished work; then report."""
    with user_errors():
        from cnnreport.jobs import sweep_run
        from cnnreport.jobs.reproduce import Settings, plan, run_all, uses_one_gpu
        from cnnreport.ml.data import default_data_dir, require_files

        check_range("--seeds", seeds)
        if jobs is not None:
            check_range("--jobs", jobs)
        check_range("--tsne-samples", tsne_samples)
        pick_device(device)
        check_output(output)  # a report that cannot be written is refused before any training
        planned = plan(seeds, quick, dataset, with_tuned, ablation)  # refuses an unknown dataset
        require_files(data_dir or default_data_dir(), dataset)  # one error now, not one per run
        processes = min(jobs or system.available_cores(), len(planned))
        runs = runs_dir or default_runs_dir()
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
    console.line(err, f"report written to {output}")


@app.command()
def report(
    runs: Annotated[Optional[list[str]], typer.Argument(help="Run names or paths [every run in --runs-dir].")] = None,
    output: OutputOption = Path("report.html"),
    tsne_samples: TsneSamplesOption = 2000,
    runs_dir: RunsDirOption = None,
) -> None:
    """Turn run directories into one self-contained HTML report (never trains)."""
    with user_errors():
        from cnnreport.report.build import select_runs
        from cnnreport.storage.rundir import list_runs
        from cnnreport.storage.sweeps import find_sweeps

        check_range("--tsne-samples", tsne_samples)
        check_output(output)
        folder = runs_dir or default_runs_dir()
        sweeps = find_sweeps(folder)  # a sweep's runs show in its section; name SWEEP/RUN to add a run's part
        chosen = select_runs(folder, runs or []) if runs or not sweeps or list_runs(folder) else []
        render_report(chosen, output, tsne_samples, sweeps=sweeps)


SWEEP_INTERRUPTED = (
    "interrupted: finished runs (and, outside Ray's temp folders, finished epochs) are saved; "
    "run the same command again to continue"
)


@app.command()
def sweep(
    file: Annotated[Optional[Path], typer.Argument(help="A TOML sweep file (name, preset, seeds, [grid]).")] = None,
    grid: Annotated[
        Optional[list[str]], typer.Option("--grid", help="OPTION=V1,V2,... : a train option and its values (repeat).")
    ] = None,
    preset: Annotated[Optional[str], typer.Option(help=f"Start every cell from: {', '.join(CHOOSABLE)}.")] = None,
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


def main() -> None:
    """The console script: Click's usage errors become one `error:` line too (exit 2)."""
    try:
        code = app(standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:  # bare `cnnreport`: the help, as before
        exc.show()
        code = exc.exit_code
    except click_errors.UsageError as exc:
        hint = f"; see '{exc.ctx.command_path} --help'" if exc.ctx else ""
        message = exc.format_message().rstrip(".") + hint
        console.error(err, message)
        code = exc.exit_code
    except click_errors.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except typer.Abort:
        err.print("Aborted!", highlight=False)
        code = 1
    sys.exit(code if isinstance(code, int) else 0)
