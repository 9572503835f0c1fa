"""`--ray` with an address where no cluster answers fails in seconds with one line, exit 2, and
hears Ctrl-C at once. No cluster is started: the command only tries to join one, at 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.helpers import error_line

pytest.importorskip("ray")

FAIL_WITHIN = 30  # seconds, for an address where nothing answers
CTRL_C_WITHIN = 5  # seconds from SIGINT to exit


def sweep_on(address: str, tmp_path: Path, data_dir: Path) -> list[str]:
    return [
        sys.executable, "-m", "cnnreport", "sweep", "--grid", "lr=0.001", "--epochs", "1", "--limit", "100",
        "--ray", address, "--runs-dir", str(tmp_path / "runs"), "--data-dir", str(data_dir),
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


@pytest.mark.parametrize("address", ["127.0.0.1:1", "127.0.0.1:99999"])
def test_an_address_where_nothing_listens_fails_at_once(tmp_path: Path, fault_data: Path, address: str) -> None:
    began = time.monotonic()
    process = start(sweep_on(address, tmp_path, fault_data))
    _, stderr = process.communicate(timeout=FAIL_WITHIN)
    assert process.returncode == 2, stderr
    error_line(stderr, f"cannot connect to a Ray cluster at '{address}'", "nothing answers there")
    assert time.monotonic() - began < FAIL_WITHIN
    assert not (tmp_path / "runs").exists()


def test_an_address_that_never_answers_fails_within_30_seconds(
    tmp_path: Path, fault_data: Path, silent_port: tuple[socket.socket, int]
) -> None:
    process = start(sweep_on(f"127.0.0.1:{silent_port[1]}", tmp_path, fault_data))
    _, stderr = process.communicate(timeout=FAIL_WITHIN)
    assert process.returncode == 2, stderr
    error_line(stderr, "cannot connect to a Ray cluster", "no answer within")
    assert not (tmp_path / "runs").exists()


def test_ctrl_c_while_connecting_exits_within_5_seconds(
    tmp_path: Path, fault_data: Path, silent_port: tuple[socket.socket, int]
) -> None:
    server, port = silent_port
    process = start(sweep_on(f"127.0.0.1:{port}", tmp_path, fault_data))
    try:
        server.settimeout(FAIL_WITHIN)
        server.accept()[0].close()  # the command's check that something listens: Ray's connect comes next
        time.sleep(2)
        process.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, stderr = process.communicate(timeout=FAIL_WITHIN)
        assert time.monotonic() - sent < CTRL_C_WITHIN
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130, stderr
    error_line(stderr, "interrupted")
