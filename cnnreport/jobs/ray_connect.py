"""Connecting to a Ray cluster: refused in one line when none answers, and checked to fit the runs.

Ray alone retries an address where no cluster answers for many minutes, deaf to Ctrl-C; here
a port where nothing listens is refused at once, any other silence after CONNECT_SECONDS, and
Ctrl-C is heard while connecting. Ray needs the optional extra: pip install "cnnreport[ray]".
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

from cnnreport.errors import BadInput

INSTALL_HINT = 'pip install "cnnreport[ray]"'
PROBE_SECONDS = 5  # to open a TCP connection to the head; a live one accepts at once
CONNECT_SECONDS = 20  # for ray.init after that; a live cluster answers within a few seconds


def import_ray() -> Any:
    """The ray module, or bad input naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise BadInput(f"--ray needs Ray, which is not installed; install it with: {INSTALL_HINT}") from None
    return ray


@contextlib.contextmanager
def connected(address: str) -> Iterator[Any]:
    """Connect this process to the Ray cluster at `address` ('auto' or HOST:PORT) for the block."""
    ray = import_ray()
    refuse_closed_port(address)
    with _stderr_silenced():  # Ray's client warns on stderr every few seconds while it retries
        _init_within(ray, address, CONNECT_SECONDS)
    try:
        yield ray
    finally:
        ray.shutdown()


def refuse_closed_port(address: str) -> None:
    """Bad input when HOST:PORT has nothing listening ('auto' and other forms are left to Ray)."""
    host, colon, port = address.rpartition(":")
    if not colon or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_SECONDS).close()
    except (OSError, OverflowError, ValueError) as exc:  # OverflowError: a port past 65535
        why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise BadInput(f"cannot connect to a Ray cluster at {address!r}: nothing answers there ({why})") from None


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """File descriptor 2 points to /dev/null for the block (Ray's C++ core writes there directly)."""
    saved, quiet = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(quiet)


def _init_within(ray: Any, address: str, seconds: float) -> None:
    """ray.init in a helper thread: the wait for it stays interruptible, and ends after `seconds`."""
    outcome: list[BaseException | None] = []

    def init() -> None:
        try:
            ray.init(address=address, log_to_driver=False, logging_level="ERROR")
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome.append(exc)

    thread = threading.Thread(target=init, name="cnnreport-ray-connect", daemon=True)
    thread.start()
    thread.join(seconds)  # Ctrl-C interrupts this wait; the helper thread dies with the process
    if not outcome:
        raise BadInput(f"cannot connect to a Ray cluster at {address!r}: no answer within {seconds:g} s")
    if outcome[0] is not None:  # ConnectionError, ValueError, timeouts: all mean "no cluster there"
        first = (str(outcome[0]).strip().splitlines() or [type(outcome[0]).__name__])[0]
        raise BadInput(f"cannot connect to a Ray cluster at {address!r}: {first}")


def check_fits(ray: Any, threads: int) -> None:
    """Refuse a thread count no node has CPUs for: Ray would keep such tasks waiting forever."""
    largest = max((node["Resources"].get("CPU", 0) for node in ray.nodes() if node.get("Alive")), default=0)
    if threads > largest:
        raise BadInput(f"--threads {threads}: the largest node of the Ray cluster has {largest:g} CPUs")
