"""`cnnreport export tensorboard|mlflow`: runs and sweeps in the trackers users already run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from cnnreport import console
from cnnreport.cli.common import DataDirOption, RunsDirOption, TsneSamplesOption, app, err, user_errors
from cnnreport.config import check_range
from cnnreport.export import INSTALL_HINT  # the package's __init__ only: no report code, no trackers
from cnnreport.storage.rundir import default_runs_dir

if TYPE_CHECKING:
    from cnnreport.export.runs import Outcome

export_app = typer.Typer(
    no_args_is_help=True,
    help=f"Export runs and sweeps to TensorBoard or MLflow.\n\nNeeds the trackers extra: {INSTALL_HINT}.",
)
app.add_typer(export_app, name="export")

RunsArgument = Annotated[
    Optional[list[str]], typer.Argument(help="Run or sweep names, or paths [every run and sweep in --runs-dir].")
]


SAYS = {"exported": "exported", "updated": "updated (its files changed)", "skipped": "skipped (unchanged)"}


def announce(outcome: Outcome) -> None:
    console.line(err, f"{outcome.key}: {SAYS[outcome.action]} -> {outcome.where}")


def summary(outcomes: list[Outcome], where: str) -> None:
    done = ", ".join(f"{sum(o.action == action for o in outcomes)} {action}" for action in SAYS)
    console.line(err, f"{console.counted(len(outcomes), 'run')} in {where}: {done}")


@export_app.command()
def tensorboard(
    runs: RunsArgument = None,
    to: Annotated[
        Path, typer.Option("--to", help="The log dir to write (open it with: tensorboard --logdir DIR).")
    ] = Path("tensorboard"),
    tsne_samples: TsneSamplesOption = 2000,
    runs_dir: RunsDirOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write runs as TensorBoard logs.

    Per-epoch scalars, HParams, the report's figures and an embedding for the Projector.
    One folder per run in --to (SWEEP/RUN for a sweep's runs). A run unchanged since its last
    export there is skipped; a changed one is replaced. --data-dir gives the embedding its digits.
    """
    with user_errors():
        from cnnreport.export import tensorboard as writer
        from cnnreport.export.runs import require, select
        from cnnreport.ml.data import default_data_dir

        require("tensorboard")
        check_range("--tsne-samples", tsne_samples)
        items, sweeps = select(runs_dir or default_runs_dir(), runs or [])
        everything = items + [item for sweep in sweeps for item in sweep.items]
        settings = writer.Settings(tsne_samples, data_dir or default_data_dir())
        outcomes = writer.export(everything, to, settings, announce)
        summary(outcomes, str(to))
        console.line(err, f"open it with: tensorboard --logdir {to}")


@export_app.command()
def mlflow(
    runs: RunsArgument = None,
    to: Annotated[
        str, typer.Option("--to", help="MLflow tracking URI: sqlite:///FILE, file:DIR or http://HOST:PORT.")
    ] = "sqlite:///mlflow.db",
    experiment: Annotated[
        str, typer.Option(help="The MLflow experiment to write into (made if absent).")
    ] = "cnnreport",
    checkpoint: Annotated[
        bool, typer.Option("--checkpoint/--no-checkpoint", help="Also upload each run's checkpoint.pt.")
    ] = False,
    tsne_samples: TsneSamplesOption = 2000,
    runs_dir: RunsDirOption = None,
) -> None:
    """Write runs to an MLflow tracking store.

    Params, per-epoch metrics, and the figures and JSON files (and checkpoint) as artifacts.
    One MLflow run per run; a sweep is a parent run with its runs as children. A run unchanged
    since its last export is skipped; a changed one is replaced.
    """
    with user_errors():
        from cnnreport.export import mlflow as writer
        from cnnreport.export.runs import require, select

        require("mlflow")
        check_range("--tsne-samples", tsne_samples)
        items, sweeps = select(runs_dir or default_runs_dir(), runs or [])
        outcomes = writer.export(items, sweeps, writer.Settings(to, experiment, checkpoint, tsne_samples), announce)
        summary(outcomes, f"experiment {experiment!r} at {to}")
        console.line(err, f"open it with: mlflow ui --backend-store-uri {to}")
