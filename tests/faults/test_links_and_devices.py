"""Links and special files in a runs dir: a sweep folder that is a link is refused like a run
folder that is one; sweep.json names only runs inside its sweep; a FIFO or a device where a
run file or a sweep file belongs is refused at once (never waited on, never read forever);
and the size limit counts the bytes read, not what the file's size claims."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnnreport.errors import RunError
from cnnreport.storage import documents
from cnnreport.storage.reading import read_regular
from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import copy_run, error_line, snapshot

SECONDS = 60  # a refusal takes a second or two; a read that blocks or never ends takes forever


def cnnreport(*args: object) -> subprocess.CompletedProcess[str]:
    """A real `python -m cnnreport` process; one that blocks fails the test instead of hanging it."""
    env = {**os.environ, "CNNREPORT_OFFLINE": "1"}
    command = [sys.executable, "-m", "cnnreport", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=SECONDS)


def sweep_args(runs_dir: Path, data_dir: Path, name: str) -> list[object]:
    return [
        "sweep", "--grid", "lr=0.001", "--epochs", "1", "--limit", "100", "--jobs", "1", "--threads", "1",
        "--device", "cpu", "--name", name, "--runs-dir", runs_dir, "--data-dir", data_dir,
    ]  # fmt: skip


# ---- 1. a sweep folder that is a symbolic link ------------------------------------------------
def test_a_sweep_folder_that_is_a_link_is_refused_and_nothing_lands_where_it_points(
    tmp_path: Path, fault_data: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "grid").symlink_to(outside)
    done = cnnreport(*sweep_args(tmp_path / "runs", fault_data, "grid"))
    assert done.returncode == 2, done.stderr
    error_line(done.stderr, str(tmp_path / "runs" / "grid"), "symbolic link")
    assert list(outside.iterdir()) == []


# ---- 2. run names in a hand-edited sweep.json -------------------------------------------------
@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory, fault_data: Path) -> Path:
    """A runs dir holding one finished run beside a one-run sweep."""
    runs_dir = tmp_path_factory.mktemp("swept")
    done = cnnreport(*sweep_args(runs_dir, fault_data, "grid"))
    assert done.returncode == 0, done.stderr
    return runs_dir


@pytest.mark.parametrize("planted", ["../outsider", "/abs/outsider", "..", "", "a/../../outsider"])
def test_report_refuses_a_sweep_whose_runs_lie_outside_it(swept: Path, tmp_path: Path, planted: str) -> None:
    runs_dir = tmp_path / "runs"
    (runs_dir / "outsider").mkdir(parents=True)
    sweep = runs_dir / "grid"
    shutil.copytree(swept / "grid", sweep)  # the module's sweep stays as it was
    document = json.loads((sweep / "sweep.json").read_text())
    document["cells"][0]["runs"] = [planted]
    (sweep / "sweep.json").write_text(json.dumps(document))
    done = cnnreport("report", "grid", "--runs-dir", runs_dir, "-o", tmp_path / "report.html")
    assert done.returncode == 2, done.stderr
    error_line(done.stderr, "sweep.json", repr(planted), "not a folder inside the sweep")
    assert not (tmp_path / "report.html").exists()


# ---- 4. FIFOs and devices ---------------------------------------------------------------------
@pytest.mark.parametrize("file_name", ["run.json", "metrics.json"])
def test_a_fifo_as_a_run_file_is_listed_as_unreadable_and_report_refuses_it(
    tmp_path: Path, reference: RunDir, file_name: str
) -> None:
    run = copy_run(reference, tmp_path / "runs")
    (run.path / file_name).unlink()
    os.mkfifo(run.path / file_name)
    listed = cnnreport("list", "--runs-dir", tmp_path / "runs", "--json")
    assert listed.returncode == 0, listed.stderr
    (line,) = json.loads(listed.stdout)["runs"]
    assert line["status"].startswith("unreadable:") and "is a FIFO, not a regular file" in line["status"]
    done = cnnreport("report", "--runs-dir", tmp_path / "runs", "-o", tmp_path / "report.html")
    assert done.returncode == 2, done.stderr
    error_line(done.stderr, str(run.path / file_name), "FIFO", "regular file")


def test_dev_zero_linked_as_metrics_is_refused_without_reading_it(tmp_path: Path, reference: RunDir) -> None:
    run = copy_run(reference, tmp_path / "runs")
    run.metrics_file.unlink()
    run.metrics_file.symlink_to("/dev/zero")
    listed = cnnreport("list", "--runs-dir", tmp_path / "runs")
    assert listed.returncode == 0, listed.stderr
    assert "character device" in listed.stdout
    done = cnnreport("report", "--runs-dir", tmp_path / "runs", "-o", tmp_path / "report.html")
    assert done.returncode == 2, done.stderr
    error_line(done.stderr, str(run.metrics_file), "character device")


def test_a_fifo_as_the_checkpoint_is_refused_by_evaluate(tmp_path: Path, reference: RunDir, fault_data: Path) -> None:
    run = copy_run(reference, tmp_path / "runs")
    run.checkpoint_file.unlink()
    os.mkfifo(run.checkpoint_file)
    done = cnnreport("evaluate", run.path, "--data-dir", fault_data)
    assert done.returncode == 2, done.stderr
    error_line(done.stderr, str(run.checkpoint_file), "FIFO")


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_sweep_refuses_a_sweep_file_that_is_not_a_regular_file(tmp_path: Path, fault_data: Path, special: str) -> None:
    path = Path(special) if special.startswith("/") else tmp_path / special
    if special == "fifo":
        os.mkfifo(path)
    done = cnnreport("sweep", path, "--runs-dir", tmp_path / "runs", "--data-dir", fault_data)
    assert done.returncode == 2, done.stderr
    error_line(done.stderr, str(path), "not a regular file")
    assert not (tmp_path / "runs").exists()


def test_a_fifo_among_the_data_files_is_not_waited_on(tmp_path: Path, fault_data: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(fault_data, data)
    (data / "t10k-labels-idx1-ubyte").unlink()
    os.mkfifo(data / "t10k-labels-idx1-ubyte")
    done = cnnreport("train", "--epochs", "1", "--threads", "1", "--runs-dir", tmp_path / "runs", "--data-dir", data)
    assert done.returncode == 2, done.stderr
    error_line(done.stderr, "t10k-labels-idx1-ubyte")


def test_the_size_limit_counts_bytes_read_not_the_size_a_file_claims(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"schema_version": 1, "padding": "x" * 200}))
    monkeypatch.setattr(documents, "MAX_JSON_BYTES", 100)
    with pytest.raises(RunError, match="larger than the 100 bytes"):
        documents.parse_json(path)
    assert read_regular(path, 10_000) == path.read_bytes()
    with pytest.raises(RunError, match="character device"):
        read_regular(Path("/dev/zero"), 10)  # st_size 0; read, it never ends


def test_nothing_in_the_runs_dir_changes_when_a_special_file_is_refused(tmp_path: Path, reference: RunDir) -> None:
    run = copy_run(reference, tmp_path / "runs")
    run.status_file.unlink()
    os.mkfifo(run.status_file)
    before = {name: content for name, content in snapshot(run.path).items() if name != "run.json"}
    cnnreport("report", "--runs-dir", tmp_path / "runs", "-o", tmp_path / "report.html")
    after = {name: content for name, content in snapshot(run.path).items() if name != "run.json"}
    assert after == before and run.status_file.exists() and not run.status_file.is_file()


def test_a_fifo_as_the_lock_of_a_running_run_does_not_block_list(tmp_path: Path, reference: RunDir) -> None:
    run = copy_run(reference, tmp_path / "runs")
    run.write_status("running")
    os.mkfifo(run.lock_file)
    listed = cnnreport("list", "--runs-dir", tmp_path / "runs", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["runs"][0]["status"] == "interrupted"  # no live process holds it
