"""`--ray` with a port that accepts and never answers: the command gives up after its connect
time with one line, exit 2, and hears Ctrl-C at once.

Such a port gets past the command's own check, so Ray itself dials it, and Ray puts this
machine's own address for 127.0.0.1. These tests therefore run inside the loopback-only network
namespace of the cluster tests, where 127.0.0.1 is the only address there is.
"""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cnnreport.jobs.ray_connect import CONNECT_SECONDS
from tests.cluster.conftest import loopback_only_network
from tests.faults.helpers import error_line
from tests.faults.test_ray_address import CTRL_C_GUARD, HANG_GUARD, start, sweep_on

pytestmark = pytest.mark.cluster


@pytest.fixture
def silent_port() -> Iterator[tuple[socket.socket, int]]:
    """A port on 127.0.0.1 that accepts connections and never says a word: no Ray head."""
    loopback_only_network()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server, server.getsockname()[1]
    server.close()


def test_an_address_that_never_answers_fails_after_the_connect_time(
    tmp_path: Path, cluster_data: Path, silent_port: tuple[socket.socket, int]
) -> None:
    process = start(sweep_on(f"127.0.0.1:{silent_port[1]}", tmp_path, cluster_data))
    _, stderr = process.communicate(timeout=HANG_GUARD)
    assert process.returncode == 2, stderr
    error_line(stderr, "cannot connect to a Ray cluster", f"no answer within {CONNECT_SECONDS} s")
    assert not (tmp_path / "runs").exists()


def test_ctrl_c_while_connecting_exits_at_once(
    tmp_path: Path, cluster_data: Path, silent_port: tuple[socket.socket, int]
) -> None:
    server, port = silent_port
    process = start(sweep_on(f"127.0.0.1:{port}", tmp_path, cluster_data))
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
