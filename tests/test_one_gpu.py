"""reproduce's schedule for one GPU, exercised on the CPU: runs train here, parts in workers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cnnreport.jobs import reproduce as reproduce_module
from cnnreport.jobs.reproduce import Settings, uses_one_gpu
from cnnreport.report import build
from tests.test_reproduce import reproduce


def test_only_cuda_takes_the_one_gpu_schedule(tmp_path: Path) -> None:
    assert not uses_one_gpu(Settings(tmp_path, tmp_path, device="cpu"))


@pytest.mark.slow
def test_one_gpu_schedule_trains_here_one_run_at_a_time_and_renders_parts_in_workers(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def rendered_here(*_args: object) -> None:
        raise AssertionError("the process holding the GPU rendered a run's part of the report")

    monkeypatch.setattr(reproduce_module, "uses_one_gpu", lambda _settings: True)
    monkeypatch.setattr(build, "run_part", rendered_here)  # the spawned workers keep the real one
    result = reproduce(tmp_path, data_dir, "--jobs", "2")
    assert result.exit_code == 0, result.output
    writers = {(run / ".lock").read_text() for run in (tmp_path / "runs").iterdir()}
    assert writers == {f"process {os.getpid()}"}  # every run trained in this one process
    html = (tmp_path / "report.html").read_text()
    assert all(f'id="run-{position}-quick-' in html for position in range(1, 6))
