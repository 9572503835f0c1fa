"""`cnnreport export mlflow`, read back with mlflow.search_runs and MlflowClient; once through a real server."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import invoke
from tests.trackers import expected
from tests.trackers.conftest import SWEEP

pytest.importorskip("mlflow")
pytestmark = pytest.mark.trackers

import mlflow  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

KEYS = {"tiny10", "tiny4", "cosine", f"{SWEEP}/dropout0-seed0", f"{SWEEP}/dropout0.3-seed0"}


@contextlib.contextmanager
def inside(folder: Path) -> Iterator[None]:
    """A local store keeps artifacts beside the working directory: keep them in the test's folder."""
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def export(runs: Path, uri: str, *extra: str):
    return invoke("export", "mlflow", *extra, "--runs-dir", runs, "--to", uri, "--tsne-samples", "40")


def live_runs(uri: str) -> dict[str, mlflow.entities.Run]:
    """The experiment's live runs, by cnnreport's key, through mlflow.search_runs."""
    mlflow.set_tracking_uri(uri)
    found = mlflow.search_runs(experiment_names=["cnnreport"], output_format="list")
    by_key = {run.data.tags["cnnreport.run_id"]: run for run in found}
    assert len(by_key) == len(found), "a key exported twice"
    return by_key


@pytest.fixture(scope="module")
def store(export_runs: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with inside(folder):
        result = export(export_runs, uri, "--checkpoint")
        assert result.exit_code == 0, result.output
    return uri


def check_run(client: MlflowClient, run: mlflow.entities.Run, folder: Path) -> None:
    """Params, per-epoch metrics (step = epoch) and final metrics equal the run's JSON files."""
    assert run.info.status == "FINISHED"
    assert run.data.params == {name: str(expected.hparam(value)) for name, value in expected.config(folder).items()} | {
        f"cell.{k}": str(v) for k, v in _cell_options(folder).items()
    }
    rows = expected.epochs(folder)
    for field in expected.EPOCH_FIELDS:
        history = sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, field))
        assert history == [(row["epoch"], row[field]) for row in rows], field
    for name, value in expected.final(folder).items():
        (metric,) = client.get_metric_history(run.info.run_id, f"final_{name}")
        assert (metric.step, metric.value) == (len(rows), value), name


def _cell_options(folder: Path) -> dict[str, object]:
    sweep = folder.parent / "sweep.json"
    if not sweep.exists():
        return {}
    cells = json.loads(sweep.read_text())["cells"]
    return next(cell["options"] for cell in cells if folder.name in cell["runs"])


def test_each_run_is_one_mlflow_run_equal_to_its_json(store: str, export_runs: Path):
    client, runs = MlflowClient(store), live_runs(store)
    assert set(runs) == KEYS | {f"sweep:{SWEEP}"}
    for key in KEYS:
        check_run(client, runs[key], export_runs / key)
    cosine = sorted((m.step, m.value) for m in client.get_metric_history(runs["cosine"].info.run_id, "learning_rate"))
    assert [step for step, _ in cosine] == [1, 2]
    assert all(
        expected.close(a, b) for (_, a), b in zip(cosine, expected.cosine_rates(export_runs / "cosine"), strict=True)
    )
    assert client.get_metric_history(runs["tiny10"].info.run_id, "learning_rate") == []


def test_a_sweep_is_a_parent_run_with_its_runs_as_children(store: str, export_runs: Path):
    runs = live_runs(store)
    parent = runs[f"sweep:{SWEEP}"]
    sweep = json.loads((export_runs / SWEEP / "sweep.json").read_text())
    assert parent.data.tags["grid.dropout"] == ",".join(str(v) for v in sweep["grid"]["dropout"])
    for cell in sweep["cells"]:
        for name in cell["runs"]:
            tags = runs[f"{SWEEP}/{name}"].data.tags
            assert tags["mlflow.parentRunId"] == parent.info.run_id
            assert (tags["cnnreport.sweep"], tags["cnnreport.cell"]) == (SWEEP, cell["name"])
    assert "mlflow.parentRunId" not in runs["tiny10"].data.tags and "cnnreport.sweep" not in runs["tiny10"].data.tags


def test_figures_json_files_and_checkpoint_are_artifacts(store: str, export_runs: Path, tmp_path: Path):
    client, run = MlflowClient(store), live_runs(store)["tiny10"]
    figures = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "figures")}
    assert figures == {"learning_curves.png", "confusion_matrix.png", "error_gallery.png", "tsne.png"}
    local = Path(client.download_artifacts(run.info.run_id, "", str(tmp_path)))
    for path in (export_runs / "tiny10").glob("*.json"):
        assert (local / "run" / path.name).read_bytes() == path.read_bytes(), path.name
    assert (local / "checkpoint" / "checkpoint.pt").read_bytes() == (
        export_runs / "tiny10" / "checkpoint.pt"
    ).read_bytes()
    assert (local / "figures" / "tsne.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_exporting_again_skips_unchanged_runs_and_replaces_changed_ones(fresh_runs: Path, tmp_path: Path):
    uri = f"sqlite:///{tmp_path / 'again.db'}"
    with inside(tmp_path):
        assert export(fresh_runs, uri, "tiny10", "tiny4").exit_code == 0
        first = live_runs(uri)
        again = export(fresh_runs, uri, "tiny10", "tiny4")
        assert again.exit_code == 0 and "0 exported, 0 updated, 2 skipped" in again.output
        assert {k: r.info.run_id for k, r in live_runs(uri).items()} == {k: r.info.run_id for k, r in first.items()}
        metrics = fresh_runs / "tiny10" / "metrics.json"
        document = json.loads(metrics.read_text())
        document["epochs"][-1]["test_loss"] = 7.25
        metrics.write_text(json.dumps(document))
        changed = export(fresh_runs, uri, "tiny10", "tiny4")
    assert changed.exit_code == 0 and "tiny10: updated" in changed.output and "tiny4: skipped" in changed.output
    now = live_runs(uri)
    assert set(now) == {"tiny10", "tiny4"} and now["tiny4"].info.run_id == first["tiny4"].info.run_id
    assert now["tiny10"].info.run_id != first["tiny10"].info.run_id
    check_run(MlflowClient(uri), now["tiny10"], fresh_runs / "tiny10")
    assert MlflowClient(uri).get_run(first["tiny10"].info.run_id).info.lifecycle_stage == "deleted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def mlflow_server(folder: Path) -> Iterator[str]:
    """A real tracking server on 127.0.0.1 (sqlite backend, artifacts proxied into `folder`), stopped afterwards."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("mlflow")), "server", "--host", "127.0.0.1", "--port", str(port),
               "--backend-store-uri", f"sqlite:///{folder / 'server.db'}", "--artifacts-destination",
               str(folder / "artifacts"), "--workers", "1"]  # fmt: skip
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{url}/health", timeout=2).status == 200:
                    break
            assert server.poll() is None, (folder / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "mlflow server did not start within 180 s"
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, 15)  # its own session: the server and its workers, nothing else
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()
        log.close()


def test_export_to_a_real_tracking_server(export_runs: Path, tmp_path: Path):
    with mlflow_server(tmp_path) as url:
        result = export(export_runs, url, "tiny4", SWEEP)
        assert result.exit_code == 0, result.output
        runs = live_runs(url)
        assert set(runs) == {"tiny4", f"{SWEEP}/dropout0-seed0", f"{SWEEP}/dropout0.3-seed0", f"sweep:{SWEEP}"}
        client = MlflowClient(url)
        check_run(client, runs["tiny4"], export_runs / "tiny4")
        figures = {Path(a.path).name for a in client.list_artifacts(runs["tiny4"].info.run_id, "figures")}
        assert "confusion_matrix.png" in figures
        assert export(export_runs, url, "tiny4").output.startswith("tiny4: skipped (unchanged)")


def test_a_run_that_fails_midway_is_not_reported_and_the_next_export_replaces_it(export_runs: Path, tmp_path: Path):
    uri = f"sqlite:///{tmp_path / 'broken.db'}"
    blocker = tmp_path / "artifacts"
    blocker.write_text("a file where the artifact folder must go")
    client = MlflowClient(uri)
    client.create_experiment("cnnreport", artifact_location=(blocker / "store").as_uri())
    failed = export(export_runs, uri, "tiny10")
    assert failed.exit_code == 1
    assert [line for line in failed.output.splitlines() if line.strip()][-1].startswith(
        f"error: MLflow tracking URI {uri}"
    )
    assert "exported" not in failed.output
    (left,) = client.search_runs([client.get_experiment_by_name("cnnreport").experiment_id])
    assert left.info.status == "FAILED" and left.data.tags["cnnreport.run_id"] == "tiny10"
    blocker.unlink()
    with inside(tmp_path):
        retried = export(export_runs, uri, "tiny10")
    assert retried.exit_code == 0 and "tiny10: exported" in retried.output
    runs = live_runs(uri)
    assert runs["tiny10"].info.run_id != left.info.run_id
    check_run(client, runs["tiny10"], export_runs / "tiny10")
    assert client.get_run(left.info.run_id).info.lifecycle_stage == "deleted"
