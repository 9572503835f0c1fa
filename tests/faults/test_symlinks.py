"""Nothing outside a run folder is written because of what lies inside it: a symbolic link
planted in a run dir (the lock, a run file, the run dir itself) is refused, and the file it
points to stays byte for byte what it was."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from cnnreport.jobs.reproduce import plan
from cnnreport.storage.atomic import _create_temp, remove_stale_temps
from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import copy_run, error_line, run_command, train_command

VICTIM_TEXT = b"precious data outside the runs dir\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside every runs dir that a followed link would truncate or replace."""
    path = tmp_path / "outside" / "victim.txt"
    path.parent.mkdir()
    path.write_bytes(VICTIM_TEXT)
    return path


def cnnreport(*args: object) -> subprocess.CompletedProcess[str]:
    """A real `python -m cnnreport` process."""
    env = {**os.environ, "CNNREPORT_OFFLINE": "1"}
    command = [sys.executable, "-m", "cnnreport", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def assert_refused_link(done: subprocess.CompletedProcess[str], link: Path, victim: Path) -> None:
    assert done.returncode == 2, done.stderr
    error_line(done.stderr, str(link), "symbolic link")
    assert victim.read_bytes() == VICTIM_TEXT


def test_train_refuses_a_lock_that_links_outside(tmp_path: Path, fault_data: Path, victim: Path) -> None:
    run = RunDir(tmp_path / "runs" / "planted")
    run.path.mkdir(parents=True)
    run.lock_file.symlink_to(victim)
    done = cnnreport(*train_command(tmp_path / "runs", fault_data, "planted"))
    assert_refused_link(done, run.lock_file, victim)


WRITES = [  # (command, a file it writes inside the run dir)
    ("train --resume", ".lock"),
    ("train --resume", "run.json"),
    ("train --resume", "metrics.json"),
    ("evaluate", "predictions.npz"),
    ("inspect", "anatomy.json"),
]


@pytest.mark.parametrize(("command", "file_name"), WRITES)
def test_run_commands_never_write_through_a_planted_link(
    tmp_path: Path, fault_data: Path, reference: RunDir, victim: Path, command: str, file_name: str
) -> None:
    run = copy_run(reference, tmp_path / "runs")
    (run.path / file_name).unlink(missing_ok=True)
    (run.path / file_name).symlink_to(victim)
    done = cnnreport(*run_command(command, tmp_path / "runs", fault_data))
    assert_refused_link(done, run.path / file_name, victim)
    assert (run.path / file_name).is_symlink(), "the link itself was replaced"


def test_reproduce_refuses_planted_locks_and_trains_nothing(tmp_path: Path, fault_data: Path, victim: Path) -> None:
    runs_dir = tmp_path / "runs"
    for job in plan(quick=True):
        (runs_dir / job.name).mkdir(parents=True)
        (runs_dir / job.name / ".lock").symlink_to(victim)
    done = cnnreport(
        "reproduce", "--quick", "--jobs", "1", "--runs-dir", runs_dir, "--data-dir", fault_data,
        "-o", tmp_path / "report.html", "--tsne-samples", "30",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # every run failed; reproduce reports each one
    assert "Traceback" not in done.stderr and done.stderr.count("symbolic link") == len(plan(quick=True))
    assert victim.read_bytes() == VICTIM_TEXT
    assert not any(runs_dir.rglob("checkpoint.pt"))


def test_a_run_dir_that_is_a_link_is_not_written_into(tmp_path: Path, fault_data: Path, reference: RunDir) -> None:
    elsewhere = copy_run(reference, tmp_path / "elsewhere")
    before = {p.name: p.read_bytes() for p in elsewhere.path.iterdir() if p.name != ".lock"}
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "reference").symlink_to(elsewhere.path)
    for command in ("evaluate", "train --resume"):
        done = cnnreport(*run_command(command, tmp_path / "runs", fault_data))
        assert done.returncode == 2, done.stderr
        error_line(done.stderr, "symbolic link")
    assert {p.name: p.read_bytes() for p in elsewhere.path.iterdir() if p.name != ".lock"} == before


def test_a_link_at_the_temp_name_is_skipped_not_followed(
    tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = iter(["0123456789ab", "ba9876543210"])
    monkeypatch.setattr(secrets, "token_hex", lambda _n: next(names))
    planted = tmp_path / ".metrics.json.cnnreport-0123456789ab.tmp"
    planted.symlink_to(victim)  # a link at the very name the writer draws first
    run = RunDir(tmp_path)
    run.write_metrics([])
    assert victim.read_bytes() == VICTIM_TEXT and planted.is_symlink()
    assert run.read_metrics() == []
    remove_stale_temps(tmp_path)  # the cleaner opens nothing through a link either
    assert victim.read_bytes() == VICTIM_TEXT


def test_a_live_writers_temp_is_kept_and_a_dead_ones_removed(tmp_path: Path) -> None:
    fd, temp = _create_temp(tmp_path / "evaluation.json")  # locked: its writer is alive
    remove_stale_temps(tmp_path)
    assert temp.exists()
    os.close(fd)  # what the kernel does when the writer is killed
    remove_stale_temps(tmp_path)
    assert not temp.exists()
