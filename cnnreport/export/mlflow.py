"""Write runs to an MLflow tracking store: one MLflow run per cnnreport run.

Each holds the config as params, the metrics.json numbers per epoch (step = epoch), the
final numbers, tags for its sweep and cell, the report's figures and the run folder's JSON
files as artifacts, and, when asked, the checkpoint. A sweep is one parent run whose
children are its runs.

Every exported run carries the tags cnnreport.run_id (the key) and cnnreport.digest (a hash
of its files). An export first lists the experiment's runs: one finished with the same digest
is skipped; otherwise a new run is written and finished, and only then are the older ones
(an outdated export, or one a failure left unfinished) deleted.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnreport.errors import WorkFailed
from cnnreport.export import content
from cnnreport.export.runs import Item, Outcome, Sweep, digest, json_files, require
from cnnreport.report.results import RunResults
from cnnreport.storage.sweeps import SWEEP_FILE, read_sweep

RUN_ID, DIGEST, SWEEP, CELL, KIND = (
    "cnnreport.run_id",
    "cnnreport.digest",
    "cnnreport.sweep",
    "cnnreport.cell",
    "cnnreport.kind",
)
PARENT, EXPERIMENT_KIND = "mlflow.parentRunId", "mlflow.experimentKind"
FINAL_PREFIX = "final_"  # final_test_accuracy, beside the per-epoch test_accuracy
BATCH = 200  # metrics per log_batch call, well inside MLflow's limit of 1000
# Unless the user set them: fail within seconds on a tracking server that does not answer.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}
UNREACHABLE = ("Max retries exceeded", "NewConnectionError", "Connection refused", "Failed to resolve")


@dataclass(frozen=True)
class Settings:
    uri: str
    experiment: str
    checkpoint: bool
    tsne_samples: int

    def text(self) -> str:
        return f"mlflow tsne={self.tsne_samples} checkpoint={self.checkpoint}"


def export(
    items: Sequence[Item], sweeps: Sequence[Sweep], settings: Settings, on_done: Callable[[Outcome], None]
) -> list[Outcome]:
    """Export the runs outside sweeps, then each sweep under its parent run; report each as it is done."""
    require("mlflow")
    client, experiment = connect(settings)
    try:
        existing = exported_runs(client, experiment)
        outcomes = []
        groups = [(None, list(items))] + [(sweep, list(sweep.items)) for sweep in sweeps]
        for sweep, members in groups:
            parent = sweep_parent(client, experiment, sweep, existing) if sweep is not None else None
            for item in members:
                outcomes.append(export_run(client, experiment, item, existing, settings, parent))
                on_done(outcomes[-1])
    except WorkFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - MLflow's and the network's errors, as one line
        raise failure(settings.uri, exc) from None
    return outcomes


def connect(settings: Settings) -> tuple[Any, str]:
    """The client and the experiment's id (made, or restored from MLflow's trash, when needed)."""
    for name, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    if settings.uri.startswith("file:"):  # MLflow 3 refuses its file store unless allowed; naming one allows it
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    for noisy in ("mlflow", "alembic"):  # their INFO lines (creating tables, ...) are not for our users
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from mlflow.tracking import MlflowClient

    try:
        client = MlflowClient(tracking_uri=settings.uri)
        found = client.get_experiment_by_name(settings.experiment)
        if found is None:  # MLflow 3's UI opens a model-training experiment on its runs, not on GenAI traces
            return client, client.create_experiment(
                settings.experiment, tags={EXPERIMENT_KIND: "custom_model_development"}
            )
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return client, found.experiment_id
    except Exception as exc:  # noqa: BLE001
        raise failure(settings.uri, exc) from None


def failure(uri: str, exc: Exception) -> WorkFailed:
    """One line: a server that does not answer said plainly, else MLflow's first line."""
    text = str(exc)
    if any(sign in text for sign in UNREACHABLE):
        return WorkFailed(f"MLflow tracking server {uri} cannot be reached; is it running?")
    first_line = (text.strip().splitlines() or [type(exc).__name__])[0]
    return WorkFailed(f"MLflow tracking URI {uri}: {first_line[:300]}")


def exported_runs(client: Any, experiment: str) -> dict[str, list[Any]]:
    """The experiment's live runs that cnnreport exported, by key (every page of the search)."""
    found: dict[str, list[Any]] = defaultdict(list)
    token = None
    while True:
        page = client.search_runs([experiment], f"tags.`{RUN_ID}` != ''", page_token=token)
        for run in page:
            found[run.data.tags[RUN_ID]].append(run)
        token = page.token
        if not token:
            return found


def export_run(
    client: Any, experiment: str, item: Item, existing: dict[str, list[Any]], settings: Settings, parent: str | None
) -> Outcome:
    found = digest(item.run, settings.checkpoint, settings.text())
    previous = existing.get(item.key, [])
    for run in previous:
        current = run.info.status == "FINISHED" and run.data.tags.get(DIGEST) == found
        if current and run.data.tags.get(PARENT) == parent:
            return Outcome(item.key, "skipped", run.info.run_id)
    tags = {RUN_ID: item.key, DIGEST: found, KIND: "run", **({PARENT: parent} if parent else {})}
    tags |= {SWEEP: item.sweep, CELL: item.cell} if item.sweep and item.cell else {}
    run_id = client.create_run(experiment, tags=tags, run_name=item.key).info.run_id
    try:
        write_run(client, run_id, item, settings)
    except BaseException:
        client.set_terminated(run_id, "FAILED")  # found and replaced by the next export
        raise
    client.set_terminated(run_id, "FINISHED")
    for run in previous:
        client.delete_run(run.info.run_id)
    updated = any(run.info.status == "FINISHED" for run in previous)
    return Outcome(item.key, "updated" if updated else "exported", run_id)


def write_run(client: Any, run_id: str, item: Item, settings: Settings) -> None:
    from mlflow.entities import Metric, Param

    files = RunResults(item.run)
    now = int(time.time() * 1000)
    params = [Param(name, str(value)) for name, value in content.hyperparameters(files.config).items()]
    params += [Param(f"cell.{name}", str(value)) for name, value in item.cell_options]
    epochs = content.epoch_values(files)
    metrics = [Metric(name, value, now, step) for step, row in enumerate(epochs, 1) for name, value in row.items()]
    final = content.final_values(files).items()
    metrics += [Metric(FINAL_PREFIX + name, value, now, len(epochs)) for name, value in final]
    client.log_batch(run_id, params=params)
    for start in range(0, len(metrics), BATCH):
        client.log_batch(run_id, metrics=metrics[start : start + BATCH])
    with tempfile.TemporaryDirectory(prefix="cnnreport-mlflow-") as folder:
        staged = Path(folder)
        (staged / "figures").mkdir()
        (staged / "run").mkdir()
        for name, png in content.figures(files, content.prepare_tsne(files, settings.tsne_samples)).items():
            (staged / "figures" / f"{name}.png").write_bytes(png)
        for path in json_files(item.run):
            shutil.copyfile(path, staged / "run" / path.name)
        client.log_artifacts(run_id, str(staged))
    if settings.checkpoint and item.run.checkpoint_file.is_file():
        client.log_artifact(run_id, str(item.run.checkpoint_file), "checkpoint")


def sweep_parent(client: Any, experiment: str, sweep: Sweep, existing: dict[str, list[Any]]) -> str:
    """The sweep's parent run: found by its key and refreshed, or made; its children point to it."""
    key = f"sweep:{sweep.name}"
    made = existing.get(key, [])  # kept, never replaced: its children point to it
    if made:
        run_id = made[0].info.run_id
    else:
        run_id = client.create_run(
            experiment, tags={RUN_ID: key, KIND: "sweep", SWEEP: sweep.name}, run_name=sweep.name
        ).info.run_id
    document = read_sweep(sweep.folder)
    for option, values in document["grid"].items():
        client.set_tag(run_id, f"grid.{option}", ",".join(str(value) for value in values))
    client.log_artifact(run_id, str(sweep.folder / SWEEP_FILE))
    client.set_terminated(run_id, "FINISHED")
    return run_id
