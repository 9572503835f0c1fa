"""`--ray` with an address where nothing listens fails at once with one line, exit 2, and makes
nothing. No cluster is started and Ray is never reached: the command checks the port first.

A port that accepts and never answers does reach Ray, which then dials this machine's own
address for 127.0.0.1; those tests live in tests/cluster, inside a loopback-only network."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.helpers import error_line

pytest.importorskip("ray")

# Guards against hanging, not timings (the project keeps those in benchmarks): Ray alone keeps
# retrying a dead address for ten minutes and more, and ignores Ctrl-C for 40 s while it does;
# the command gives up after CONNECT_SECONDS. Starting Python and torch on a busy machine takes
# a while, so the guards leave room for that.
HANG_GUARD = 120
CTRL_C_GUARD = 20


def sweep_on(address: str, tmp_path: Path, data_dir: Path) -> list[str]:
    return [
        sys.executable, "-m", "cnnreport", "sweep", "--grid", "lr=0.001", "--epochs", "1", "--limit", "100",
        "--ray", address, "--runs-dir", str(tmp_path / "runs"), "--data-dir", str(data_dir),
    ]  # fmt: skip


def reproduce_on(address: str, tmp_path: Path, data_dir: Path) -> list[str]:
    return [
        sys.executable, "-m", "cnnreport", "reproduce", "--quick", "--ray", address, "--runs-dir",
        str(tmp_path / "runs"), "--data-dir", str(data_dir), "-o", str(tmp_path / "report.html"),
    ]  # fmt: skip


def start(command: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "CNNREPORT_OFFLINE": "1"}
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.parametrize(
    ("address", "command"), [("127.0.0.1:1", sweep_on), ("127.0.0.1:99999", sweep_on), ("127.0.0.1:1", reproduce_on)]
)
def test_an_address_where_nothing_listens_fails_at_once(
    tmp_path: Path, fault_data: Path, address: str, command: Callable[..., list[str]]
) -> None:
    process = start(command(address, tmp_path, fault_data))
    _, stderr = process.communicate(timeout=HANG_GUARD)
    assert process.returncode == 2, stderr
    error_line(stderr, f"cannot connect to a Ray cluster at '{address}'", "nothing answers there")
    assert not (tmp_path / "runs").exists() and not (tmp_path / "report.html").exists()
