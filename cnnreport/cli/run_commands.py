"""Commands on one run: train it, evaluate it, inspect its layers."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated, Optional

import typer

from cnnreport import console, system
from cnnreport.cli.common import (
    DataDirOption,
    DatasetOption,
    DeviceOption,
    JsonOption,
    RunArgument,
    RunsDirOption,
    app,
    build_config,
    command_line,
    err,
    parse_widths,
    user_errors,
)
from cnnreport.config import (
    LR_MAX,
    ROTATE_MAX,
    SHIFT_MAX,
    THREADS_PER_CORE,
    WEIGHT_DECAY_MAX,
    check_range,
    range_text,
)
from cnnreport.errors import BadInput
from cnnreport.presets import CHOOSABLE, default_run_name
from cnnreport.storage.rundir import create_run, default_runs_dir, resolve_run
from cnnreport.system import pick_device


@app.command()
def train(
    classes: Annotated[
        Optional[int], typer.Option(metavar="10|4", help="10, or 4 for the write-up's digit groups [10].")
    ] = None,
    augment: Annotated[
        Optional[bool], typer.Option("--augment/--no-augment", help="Rotation, shift, brightness.")
    ] = None,
    rotate: Annotated[
        Optional[float],
        typer.Option(
            metavar="DEG",
            help=f"Milder augmentation than --augment's: rotate by up to +-DEG, in [0, {ROTATE_MAX:g}] [0].",
        ),
    ] = None,
    shift: Annotated[
        Optional[float],
        typer.Option(
            metavar="F", help=f"Milder augmentation: shift by up to +-F of the side, in [0, {SHIFT_MAX:g}] [0]."
        ),
    ] = None,
    dropout: Annotated[
        Optional[float], typer.Option(metavar="P", help="Dropout before the output layer, in [0, 1); 0 = none [0].")
    ] = None,
    batch_norm: Annotated[
        Optional[bool], typer.Option("--batch-norm/--no-batch-norm", help="BatchNorm after each conv.")
    ] = None,
    epochs: Annotated[
        Optional[int], typer.Option(metavar="N", help=f"Epochs to train, {range_text('--epochs')} [10].")
    ] = None,
    batch_size: Annotated[
        Optional[int], typer.Option(metavar="N", help=f"Images per step, {range_text('--batch-size')} [20].")
    ] = None,
    lr: Annotated[
        Optional[float], typer.Option(metavar="F", help=f"Adam learning rate, in (0, {LR_MAX:g}] [0.001].")
    ] = None,
    seed: Annotated[Optional[int], typer.Option(metavar="N", help=f"Random seed, {range_text('--seed')} [0].")] = None,
    limit: Annotated[
        Optional[int],
        typer.Option(metavar="N", help=f"Use only the first N training images, N in {range_text('--limit')}."),
    ] = None,
    schedule: Annotated[
        Optional[str],
        typer.Option(
            metavar="constant|onecycle|cosine",
            help="LR per batch: constant, onecycle (--lr is the peak) or cosine [constant].",
        ),
    ] = None,
    label_smoothing: Annotated[
        Optional[float], typer.Option(metavar="F", help="Label smoothing, in [0, 1) [0].")
    ] = None,
    weight_decay: Annotated[
        Optional[float],
        typer.Option(metavar="F", help=f"AdamW weight decay, in [0, {WEIGHT_DECAY_MAX:g}]; 0 = plain Adam [0]."),
    ] = None,
    widths: Annotated[
        Optional[str],
        typer.Option(
            metavar="C1,C2,C3",
            help=f"Output channels of the 3 convolutions, each in {range_text('--widths')} [16,8,4].",
        ),
    ] = None,
    ema: Annotated[
        Optional[float],
        typer.Option(
            metavar="F", help="Score and save a moving average of the weights, decay per step in [0, 1); 0 = off [0]."
        ),
    ] = None,
    validation: Annotated[
        Optional[int],
        typer.Option(
            metavar="N",
            help=f"Hold out the last N training images, N in {range_text('--validation')}; "
            "the test set is scored once, at the end [0].",
        ),
    ] = None,
    preset: Annotated[
        Optional[str],
        typer.Option(metavar="ID", help=f"Start from a preset: {', '.join(CHOOSABLE)} (tuned: not the write-up's)."),
    ] = None,
    name: Annotated[Optional[str], typer.Option(metavar="NAME", help="Run name [derived from the options].")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from its last epoch.")] = False,
    threads: Annotated[
        Optional[int],
        typer.Option(
            metavar="N",
            help=f"CPU threads for training, 1..{THREADS_PER_CORE}x the cores [every core; "
            "on --resume the run's own count, which keeps the result exact].",
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
    """Train one experiment into a run directory. A checkpoint is saved after every epoch."""
    with user_errors():
        from cnnreport.ml.data import default_data_dir
        from cnnreport.ml.train import train_run

        config = build_config(
            preset, dataset=dataset, classes=classes, augment=augment, dropout=dropout, batch_norm=batch_norm,
            epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, limit=limit, schedule=schedule,
            label_smoothing=label_smoothing, weight_decay=weight_decay, widths=parse_widths(widths),
            validation=validation, ema=ema, rotate=rotate, shift=shift,
        )  # fmt: skip
        if threads is not None:
            check_range("--threads", threads, 1, THREADS_PER_CORE * system.available_cores())
        pick_device(device)  # refuse a bad --device before any folder is made
        data = data_dir or default_data_dir()  # and a bad CNNREPORT_DATA_DIR
        run = create_run(runs_dir or default_runs_dir(), name or default_run_name(config), resume=resume)
        with console.epoch_progress(err) as progress:
            try:
                metrics = train_run(
                    run, config, data_dir=data, device=device, resume=resume,
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
        console.line(err, next_steps(run.name, runs_dir, data_dir))


def next_steps(run_name: str, runs_dir: Path | None, data_dir: Path | None) -> str:
    """The commands that fill in the rest of a trained run's report, ready to copy."""
    where = ["--runs-dir", str(runs_dir)] if runs_dir else []
    data = ["--data-dir", str(data_dir)] if data_dir else []
    evaluate = shlex.join(["cnnreport", "evaluate", run_name, *where, *data])
    inspect = shlex.join(["cnnreport", "inspect", run_name, *where, *data])
    report = shlex.join(["cnnreport", "report", *where])
    return f"next: {evaluate}, then {inspect}, then {report}"


@app.command()
def evaluate(
    run: RunArgument,
    runs_dir: RunsDirOption = None,
    data_dir: DataDirOption = None,
    dataset: DatasetOption = None,
    device: DeviceOption = "cpu",
    as_json: JsonOption = False,
) -> None:
    """Score a run on clean train and test data. Saves predictions, features and metrics."""
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
    run: Annotated[
        Optional[str], typer.Argument(metavar="RUN", help="A run name or path; omit for an untrained model.")
    ] = None,
    preset: Annotated[
        Optional[str], typer.Option(metavar="ID", help=f"Untrained model: a preset's network, {', '.join(CHOOSABLE)}.")
    ] = None,
    classes: Annotated[Optional[int], typer.Option(metavar="10|4", help="Untrained model: 10 or 4 [10].")] = None,
    batch_norm: Annotated[
        Optional[bool], typer.Option("--batch-norm/--no-batch-norm", help="Untrained model: with BatchNorm.")
    ] = None,
    dropout: Annotated[
        Optional[float], typer.Option(metavar="P", help="Untrained model: dropout probability [0].")
    ] = None,
    widths: Annotated[
        Optional[str],
        typer.Option(metavar="C1,C2,C3", help="Untrained model: output channels of the 3 convolutions [16,8,4]."),
    ] = None,
    index: Annotated[
        int, typer.Option(metavar="I", help=f"Test image whose layer outputs are saved, {range_text('--index')}.")
    ] = 0,
    runs_dir: RunsDirOption = None,
    data_dir: DataDirOption = None,
    dataset: DatasetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the architecture; for a run, save layer outputs and maps.

    For a run, one test image's output of every layer and its activation maps are saved in the run.
    Without one, the untrained network of the write-up (or of --preset, changed by the options) is shown.
    """
    with user_errors():
        from cnnreport.analyses.anatomy import untrained_architecture
        from cnnreport.jobs.inspection import inspect_run
        from cnnreport.ml.data import default_data_dir

        check_range("--index", index)
        shape = {"classes": classes, "batch_norm": batch_norm, "dropout": dropout, "widths": parse_widths(widths)}
        if run is None:
            summary = untrained_architecture(build_config(preset, **shape))
        else:
            given = [name.replace("_", "-") for name, value in {"preset": preset, **shape}.items() if value is not None]
            if given:  # a run's network is its own: silently ignoring these would mislead
                raise BadInput(f"--{given[0]} describes an untrained model; a run's network comes from its checkpoint")
            target = resolve_run(run, runs_dir or default_runs_dir())
            summary = inspect_run(target, data_dir or default_data_dir(), index, dataset)
        if as_json:
            print(json.dumps(summary))
        else:
            console.architecture(console.plain_console(), summary)
