"""Ctrl-C in evaluate, inspect and report: exit 130 with one `interrupted:` line, never a traceback
or Click's "Aborted!", and nothing half-written left behind.

Each command runs as a real process whose atomic writes are held before their rename
(PAUSE_BEFORE_RENAME); SIGINT lands while the first file's temp copy exists, mid-work.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from cnnreport.storage.atomic import atomic_write, check_output
from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import POLL_SECONDS, copy_run, error_line, snapshot
from tests.faults.slowed_cli import PAUSE_BEFORE_RENAME, slowed_command

HOLD_SECONDS = "60"  # far longer than the test waits: the signal, not the pause, must end the write


def command_line(command: str, runs: Path, data: Path) -> list[str]:
    """The arguments of `command` on the copied run (report: all runs, with a t-SNE to compute)."""
    if command == "report":
        return ["report", "--runs-dir", str(runs), "-o", str(runs.parent / "report.html"), "--tsne-samples", "50"]
    return [command, "reference", "--runs-dir", str(runs), "--data-dir", str(data)]


def interrupt_while_writing(args: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    """Start `python -m cnnreport ARGS`, send SIGINT once a temp file appears under `folder`, wait."""
    env = {**os.environ, "CNNREPORT_OFFLINE": "1", PAUSE_BEFORE_RENAME: HOLD_SECONDS}
    process = subprocess.Popen(
        slowed_command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 120
        while not any(folder.rglob(".*.tmp")):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no write began (exit {process.returncode}):\n{process.communicate()[1]}")
            time.sleep(POLL_SECONDS)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.parametrize("command", ["evaluate", "inspect", "report"])
def test_ctrl_c_exits_130_with_one_line(tmp_path: Path, fault_data: Path, reference: RunDir, command: str) -> None:
    runs = tmp_path / "runs"
    copy_run(reference, runs)
    before = snapshot(runs)
    done = interrupt_while_writing(command_line(command, runs, fault_data), tmp_path)
    assert done.returncode == 130, done.stderr
    assert "Aborted!" not in done.stderr
    line = error_line(done.stderr)
    assert line.startswith("interrupted:") and done.stderr.strip().splitlines()[-1] == line
    assert not any(tmp_path.rglob(".*.tmp"))  # no temp file left behind
    assert not (tmp_path / "report.html").exists()
    after = snapshot(runs)
    assert {name: after[name] for name in before} == before  # what was saved before is untouched


@pytest.mark.parametrize("writer", ["atomic_write", "check_output"])
def test_ctrl_c_just_after_the_temp_is_made_leaves_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: str
) -> None:
    """The narrowest window: SIGINT between the open that made the temp and the code that owns it."""

    def interrupted(_fd: int, _operation: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(fcntl, "flock", interrupted)
    target = tmp_path / "evaluation.json"
    with pytest.raises(KeyboardInterrupt):
        if writer == "atomic_write":
            atomic_write(target, lambda handle: handle.write(b"{}"))
        else:
            check_output(target)
    assert list(tmp_path.iterdir()) == []
