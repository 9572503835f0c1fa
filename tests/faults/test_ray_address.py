"""`--ray` with an address where no cluster answers fails in seconds with one line, exit 2, and
hears Ctrl-C at once. No cluster is started: the command only tries to join one, at 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cnnreport.jobs.ray_connect import CONNECT_SECONDS
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


@pytest.fixture
def silent_port() -> Iterator[tuple[socket.socket, int]]:
    """A port on 127.0.0.1 that accepts connections and never says a word: no Ray head.

    It passes the command's check that something listens; Ray then tries that port (at this
    machine's own address, which it puts for 127.0.0.1) and, finding no head, retries forever.
    """
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server, server.getsockname()[1]
    server.close()


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


def test_an_address_that_never_answers_fails_after_the_connect_time(
    tmp_path: Path, fault_data: Path, silent_port: tuple[socket.socket, int]
) -> None:
    process = start(sweep_on(f"127.0.0.1:{silent_port[1]}", tmp_path, fault_data))
    _, stderr = process.communicate(timeout=HANG_GUARD)
    assert process.returncode == 2, stderr
    error_line(stderr, "cannot connect to a Ray cluster", f"no answer within {CONNECT_SECONDS} s")
    assert not (tmp_path / "runs").exists()


def test_ctrl_c_while_connecting_exits_at_once(
    tmp_path: Path, fault_data: Path, silent_port: tuple[socket.socket, int]
) -> None:
    server, port = silent_port
    process = start(sweep_on(f"127.0.0.1:{port}", tmp_path, fault_data))
    try:
        server.settimeout(HANG_GUARD)
        server.accept()[0].close()  # the command's check that something listens: Ray's connect comes next
        time.sleep(2)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=CTRL_C_GUARD)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130, stderr
    error_line(stderr, "interrupted")
