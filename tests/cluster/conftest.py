"""A real two-node Ray cluster on the loopback address, for `nox -s cluster`.

The tests run in a network namespace of their own that holds only the loopback device:
Ray otherwise registers (and its servers listen on) the machine's other addresses, and
nothing here may send to any address but 127.0.0.1. Every process of the cluster carries
a marker in its environment, so the finaliser stops exactly those processes, by pid,
even when a test fails.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.idx_files import write_dataset

pytest.importorskip("ray")

MARKER = "CNNREPORT_TEST_RAY_CLUSTER"
CLONE_NEWNET, CLONE_NEWUSER = 0x40000000, 0x10000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
RAY = str(Path(sys.executable).with_name("ray"))
private_network: list[str] = []  # the namespace loopback_only_network made, once made


def loopback_only_network() -> None:
    """Move this process (and all it starts) into a new network namespace with only `lo`, up.

    Once is enough: a second move would cut this process off from a cluster already started."""
    if private_network:
        return
    libc, before = ctypes.CDLL(None, use_errno=True), os.readlink("/proc/self/ns/net")
    if libc.unshare(CLONE_NEWNET) != 0:
        uid, gid = os.getuid(), os.getgid()
        if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
            pytest.fail(f"cannot make a loopback-only network namespace: {os.strerror(ctypes.get_errno())}")
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))
    after = os.readlink("/proc/self/ns/net")
    assert after != before, "unshare left this process in the machine's network"
    private_network.append(after)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cluster_pids(marker: str) -> list[int]:
    """Every process this cluster started: its marker in their environment, or in our private network.

    Ray starts its agents with an environment of their own, but they stay in the network
    namespace, which only this test session's processes share.
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            marked = f"{MARKER}={marker}".encode() in (entry / "environ").read_bytes().split(b"\0")
            if marked or os.readlink(entry / "ns" / "net") in private_network:
                found.append(int(entry.name))
        except OSError:
            continue  # gone, or not ours to read
    return found


def task_pids(marker: str, function: str) -> list[int]:
    """This cluster's worker processes that are running `function` now (Ray titles them ray::NAME)."""
    pids = []
    for pid in cluster_pids(marker):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if title.startswith(f"ray::{function}"):
            pids.append(pid)
    return pids


def stop_cluster(marker: str) -> None:
    """What `ray stop` does, for this cluster's processes alone: TERM, a grace period, then KILL."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        for pid in cluster_pids(marker):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + grace
        while cluster_pids(marker) and time.monotonic() < deadline:
            time.sleep(0.2)


def ray_start(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([RAY, "start", *args], env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.fixture(scope="session")
def ray_address() -> Iterator[str]:
    """HOST:PORT of a running head plus one more node, 1 CPU each, all on 127.0.0.1."""
    loopback_only_network()
    marker, port = uuid.uuid4().hex, free_port()
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    env = os.environ | {MARKER: marker, "RAY_USAGE_STATS_ENABLED": "0"}
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--object-store-memory", str(200 * 2**20)]
    try:
        ray_start(
            env, "--head", "--port", str(port), "--temp-dir", temp, "--include-dashboard=false",
            "--dashboard-host", "127.0.0.1", "--disable-usage-stats", *common,
        )  # fmt: skip
        ray_start(env, "--address", f"127.0.0.1:{port}", *common)
        os.environ[MARKER] = marker  # the tests find the cluster's workers by it
        yield f"127.0.0.1:{port}"
    finally:
        stop_cluster(marker)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="session")
def cluster_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("idx"), train=300, test=100)
