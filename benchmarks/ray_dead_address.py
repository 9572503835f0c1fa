"""How long `cnnreport sweep --ray ADDRESS` takes to give up where no Ray cluster answers, and to
stop on Ctrl-C while it connects, beside the goals: under 30 s to fail, under 5 s to stop.

Three cases, each a fresh process from this checkout: 127.0.0.1:1 (nothing listens), a port on
127.0.0.1 that accepts and never answers, and Ctrl-C 2 s into connecting to that port. Python and
torch start first; that time is shown separately (the `--help` line) so the rest can be judged.
Starts no cluster, and runs in a network namespace of its own that holds only the loopback
device (this needs root or user namespaces), so nothing is sent to any address but 127.0.0.1.

    python benchmarks/ray_dead_address.py
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.cluster.conftest import loopback_only_network  # noqa: E402 - after the checkout is on the path
from tests.idx_files import write_dataset  # noqa: E402

FAIL_GOAL, CTRL_C_GOAL = 30.0, 5.0


def command(address: str, folder: Path) -> list[str]:
    data = write_dataset(folder / "data", train=100, test=50)
    return [
        sys.executable, "-m", "cnnreport", "sweep", "--grid", "lr=0.001", "--epochs", "1", "--ray", address,
        "--runs-dir", str(folder / "runs"), "--data-dir", str(data),
    ]  # fmt: skip


def run(argv: list[str], connecting_to: socket.socket | None = None) -> float:
    """Seconds until the process ends; with `connecting_to`, from a SIGINT sent 2 s after the
    command's check that something listens there (Ray's connect comes next)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CNNREPORT_OFFLINE": "1"}
    start = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if connecting_to is not None:
        connecting_to.accept()[0].close()
        time.sleep(2)
        process.send_signal(signal.SIGINT)
        start = time.perf_counter()
    process.wait(timeout=900)
    return time.perf_counter() - start


def silent_port() -> socket.socket:
    """A port on 127.0.0.1 that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    return server


def address(server: socket.socket) -> str:
    return f"127.0.0.1:{server.getsockname()[1]}"


def main() -> None:
    loopback_only_network()  # Ray dials this machine's own address for 127.0.0.1: keep it to loopback
    with tempfile.TemporaryDirectory() as temp, silent_port() as quiet, silent_port() as stopped:
        folder = Path(temp)
        startup = run([sys.executable, "-m", "cnnreport", "sweep", "--help"])
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"{'case':<44} {'seconds':>8} {'of goal':>8}")
        print(f"{'start-up (sweep --help)':<44} {startup:>8.1f}")
        for label, seconds, goal in (
            ("fail: nothing listens (127.0.0.1:1)", run(command("127.0.0.1:1", folder)), FAIL_GOAL),
            ("fail: accepts, never answers", run(command(address(quiet), folder)), FAIL_GOAL),
            ("Ctrl-C while connecting (from SIGINT)", run(command(address(stopped), folder), stopped), CTRL_C_GOAL),
        ):
            print(f"{label:<44} {seconds:>8.1f} {seconds / goal:>7.2f}x")


if __name__ == "__main__":
    main()
