"""Helpers for the third round of hostile-user tests: real `python -m cnnreport` processes, run
without root's power to read anything (so a chmod 000 file is really unreadable), and runs dirs
holding a run and a sweep to aim at."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import pytest

from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import copy_run, error_line

# Root reads any file whatever its mode; without these two capabilities it obeys chmod like a user.
NO_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
SWEEP = "grid"  # the sweep folder of `runs_with_a_sweep`
SWEEP_RUN = "lr0.001-seed0"


def cnnreport(
    *args: object, env: dict[str, str] | None = None, stdout: IO[Any] | int = subprocess.PIPE, as_user: bool = False
) -> subprocess.CompletedProcess[str]:
    """A real `python -m cnnreport ARGS` process; `as_user`: without root's power to read everything."""
    prefix: list[str] = []
    if as_user and os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot make a file unreadable")
        prefix = NO_OVERRIDE
    environment = {**os.environ, "CNNREPORT_OFFLINE": "1", **(env or {})}
    command = [*prefix, sys.executable, "-m", "cnnreport", *map(str, args)]
    return subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, text=True, env=environment, timeout=300)


def assert_refused(done: subprocess.CompletedProcess[str], exit_code: int, *fragments: str) -> str:
    """The process exited with `exit_code` and said why in one line naming every fragment."""
    assert done.returncode == exit_code, done.stderr
    line = error_line(done.stderr, *fragments)
    assert "unexpected" not in line and "Exception ignored" not in done.stderr, done.stderr
    return line


def runs_with_a_sweep(reference: RunDir, runs: Path) -> Path:
    """A runs dir with the run `reference` and the sweep `grid` holding one run, as `sweep` leaves them."""
    copy_run(reference, runs)
    sweep = runs / SWEEP
    sweep.mkdir()
    copy_run(reference, sweep).path.rename(sweep / SWEEP_RUN)
    cells = [{"name": "lr0.001", "options": {"lr": 0.001}, "runs": [SWEEP_RUN]}]
    document = {"schema_version": 1, "name": SWEEP, "grid": {"lr": [0.001]}, "fixed": {}, "seeds": [0], "cells": cells}
    (sweep / "sweep.json").write_text(json.dumps(document))
    return runs
