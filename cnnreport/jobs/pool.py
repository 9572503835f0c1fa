"""Worker processes for jobs: spawned, reporting progress on a queue, gone with their parent.

reproduce, its one-GPU schedule and local sweeps all run their jobs here. A job is anything
with a name; a worker calls `work(*args, report)`, where `report` sends an Update home.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue as queue_module
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

ORPHAN_CHECK_SECONDS = 0.5  # how often a worker checks that its parent still lives


@dataclass(frozen=True)
class Update:
    """A message from a worker: a stage change or training progress of one job."""

    name: str
    stage: str  # training, evaluating, inspecting, report: ..., done, failed
    done: int = 0  # training images processed so far, over all epochs
    total: int = 0
    detail: str = ""


OnUpdate = Callable[[Update], None]


@dataclass
class Outcome:
    """What a batch of jobs brings back: each finished job's result, and the failures."""

    parts: dict[str, Any] = field(default_factory=dict)  # a RunPart from run_job; whatever the work returns
    failures: dict[str, BaseException] = field(default_factory=dict)

    def fail(self, name: str, error: BaseException, on_update: OnUpdate) -> None:
        """Record a failed job and show it; the other jobs go on."""
        self.failures[name] = error
        on_update(Update(name, "failed", detail=str(error)))


# The native thread pools a worker's share of cores must bound: OpenMP (scikit-learn's t-SNE,
# torch) and the BLAS libraries. Each reads its variable when it loads, after the worker starts.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def worker_pool(processes: int, threads: int) -> Iterator[tuple[ProcessPoolExecutor, Any]]:
    """Spawned workers of `threads` native threads each, reporting on a queue; stopped at once on any failure here."""
    context = multiprocessing.get_context("spawn")  # no forked copies of torch's (or CUDA's) state
    updates = context.Queue()
    pool = ProcessPoolExecutor(
        processes, mp_context=context, initializer=_init_worker, initargs=(updates, os.getpid(), threads)
    )
    try:
        yield pool, updates
    except BaseException:
        # Ctrl-C (or any failure here): start nothing new and stop the workers now. Their
        # last complete epochs are already on disk, so the next run resumes from them.
        for child in multiprocessing.active_children():
            child.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def reporting(work: Callable[..., Any], *args: Any) -> Any:
    """In a worker: `work(*args, report)`, where `report` puts an Update on the parent's queue."""
    return work(*args, report_home)


def report_home(update: Update) -> None:
    """In a worker: send one Update to the parent."""
    _updates.put(update)


def collect(pending: dict[Future[Any], str], updates: Any, on_update: OnUpdate) -> Outcome:
    """Wait for every job (future -> job name), relaying the workers' Updates meanwhile."""
    outcome = Outcome()
    while pending:
        finished, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        drain(updates, on_update)
        for future in finished:
            name, error = pending.pop(future), future.exception()
            if error is None:
                outcome.parts[name] = future.result()
            else:
                outcome.fail(name, error, on_update)
    drain(updates, on_update)
    return outcome


def drain(updates: Any, on_update: OnUpdate) -> None:
    """Hand on every Update the workers have sent so far."""
    while True:
        try:
            on_update(updates.get_nowait())
        except queue_module.Empty:
            return


_updates: Any = None  # the queue a worker process reports to, set by _init_worker


def _init_worker(updates: Any, parent: int, threads: int) -> None:
    global _updates
    _updates = updates
    # Unbounded, every worker's OpenMP pool starts a thread per core and spins: measured on 2
    # cores, two t-SNEs side by side took 15 s each, against 6.9 s each with one thread apiece.
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
    # Ctrl-C reaches every process of the terminal; the parent alone decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warnings.simplefilter("ignore")  # the board shows progress; stray library warnings would garble it
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True, name="orphan-watch").start()


def _exit_when_orphaned(parent: int) -> None:
    """End this worker within a second once its parent is gone (kill -9 leaves no cleanup).

    An orphan would train on, then idle forever holding memory and its run's lock. Every
    file a worker writes is atomic and the lock dies with it, so the run resumes later.
    """
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(1)
