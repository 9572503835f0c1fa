"""reproduce: the five experiments end to end, skipping finished work, resuming the rest."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from cnnreport.jobs.reproduce import QUICK_EPOCHS, QUICK_IMAGES, plan
from cnnreport.ml.train import train_run
from cnnreport.presets import PRESETS
from cnnreport.report import build
from cnnreport.storage.rundir import RunDir, create_run
from tests.helpers import invoke, visible_text
from tests.test_report import Document
from tests.test_train import StopAfter


def reproduce(tmp_path: Path, data_dir: Path, *extra: str):
    return invoke(
        "reproduce", "--quick", "--tsne-samples", "60", "--runs-dir", tmp_path / "runs",
        "--data-dir", data_dir, "-o", tmp_path / "report.html", *extra,
    )  # fmt: skip


def test_plan_covers_every_preset_and_seed() -> None:
    jobs = plan(seeds=2)
    assert sorted(job.name for job in jobs) == sorted([p for p in PRESETS] + [f"{p}-seed1" for p in PRESETS])
    assert jobs[0].config.epochs == 30  # longest first
    quick = plan(quick=True)
    assert all(j.name.startswith("quick-") and j.config.epochs <= QUICK_EPOCHS and j.config.limit for j in quick)


@dataclass(frozen=True)
class Reproduced:
    """A finished quick reproduce, and the epoch saved before its interrupted run resumed."""

    folder: Path
    first_epoch_before_resume: dict[str, float]


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Reproduced:
    folder = tmp_path_factory.mktemp("reproduce")
    interrupted = create_run(folder / "runs", "quick-mnist4")
    config = next(job.config for job in plan(quick=True) if job.name == "quick-mnist4")
    with pytest.raises(KeyboardInterrupt):
        train_run(interrupted, config, data_dir=data_dir, on_epoch=StopAfter(1))
    [first_epoch] = interrupted.read_metrics()
    result = reproduce(folder, data_dir)
    assert result.exit_code == 0, result.output
    return Reproduced(folder, first_epoch)


def test_report_holds_all_five_experiments_each_marked_quick(reproduced: Reproduced) -> None:
    html = (reproduced.folder / "report.html").read_text()
    ids = Document(html).ids
    for preset in PRESETS:
        assert any(re.fullmatch(rf"run-\d-quick-{preset}", i) for i in ids), preset
    # The summary's "Write-up experiment" row says, for each of the five runs, why it is no match.
    marked = f"a quick run on the first {QUICK_IMAGES:,} training images only (--limit, reproduce --quick)"
    assert visible_text(html).count(marked) == len(PRESETS)


def test_interrupted_run_was_resumed_not_restarted(reproduced: Reproduced) -> None:
    run = RunDir(reproduced.folder / "runs" / "quick-mnist4")
    epochs = run.read_metrics()
    assert [e["epoch"] for e in epochs] == [1, 2] and run.read_status()["status"] == "finished"
    assert run.read_json(run.status_file)["epochs_done"] == 2
    # A restart would have trained epoch 1 again: new losses, a new duration to the last digit.
    assert epochs[0] == reproduced.first_epoch_before_resume


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `folder` (lock files aside) with its bytes and modification time."""
    files = (p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock")
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in files}


def test_second_reproduce_only_rerenders(reproduced: Reproduced, data_dir: Path) -> None:
    before = snapshot(reproduced.folder / "runs")
    assert {"mnist10", "batchnorm"} <= {Path(name).parent.name.removeprefix("quick-") for name in before}
    report_before = (reproduced.folder / "report.html").stat().st_mtime_ns
    result = reproduce(reproduced.folder, data_dir)
    assert result.exit_code == 0, result.output
    assert snapshot(reproduced.folder / "runs") == before  # metrics.json and run.json included
    assert result.output.count("1/1 done (trained earlier)") == 5  # each bar full, not "0/?"
    assert (reproduced.folder / "report.html").stat().st_mtime_ns > report_before


@pytest.mark.slow
def test_parallel_jobs_train_and_render_each_run_in_its_own_worker(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def rendered_here(*_args: object) -> None:
        raise AssertionError("the parent process rendered a run's part of the report")

    monkeypatch.setattr(build, "run_part", rendered_here)  # the spawned workers keep the real one
    result = reproduce(tmp_path, data_dir, "--jobs", "2")
    assert result.exit_code == 0, result.output
    writers = {(run / ".lock").read_text() for run in (tmp_path / "runs").iterdir()}
    assert f"process {os.getpid()}" not in writers and 1 <= len(writers) <= 2
    html = (tmp_path / "report.html").read_text()
    assert all(f'id="run-{position}-quick-' in html for position in range(1, 6))


def test_missing_data_is_one_error_before_any_run(tmp_path: Path) -> None:
    result = reproduce(tmp_path, tmp_path / "no-data")
    assert result.exit_code == 2, result.output
    assert "no-data" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()
