"""Run jobs on a Ray cluster: one task per run, retried when a worker or node dies.

Workers need only cnnreport installed. The driver puts the dataset files into Ray's object
store once; each task writes them to a cache on its node, trains into a temporary folder
and returns the finished run folder's files, which the driver swaps into the runs dir.
When a worker sees the runs dir at the driver's path (a shared file system, or the same
machine), it trains there directly instead: the driver leaves a token file in the runs
dir, and a worker that can read it knows the folder is the driver's.

A task that dies with its worker is retried by Ray (RETRIES times): in the runs dir it
resumes from the last saved epoch; in a temporary folder it starts again from the copy
the driver sent. Ray needs the optional extra: pip install "cnnreport[ray]".
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from cnnreport.errors import BadInput
from cnnreport.jobs.pool import Outcome, Update
from cnnreport.jobs.reproduce import Job, Settings, Work
from cnnreport.ml.data import SPLIT_FILES, TORCHVISION_FOLDERS, find_idx_file

RETRIES = 3  # attempts after the first when a worker process or node dies
INSTALL_HINT = 'pip install "cnnreport[ray]"'
PROBE_SECONDS = 5  # to open a TCP connection to the head; a live one accepts at once
CONNECT_SECONDS = 20  # for ray.init after that; a live cluster answers within a few seconds
# Set on the driver to make workers always send runs back, even when they see the runs dir.
SHIP_RUNS = "CNNREPORT_RAY_SHIP_RUNS"
INCOMING = ".cnnreport-incoming"  # in the runs dir: run folders sent back, while they are written
OnUpdate = Callable[[Update], None]
Files = dict[str, tuple[bytes, int]]  # relative path -> (content, modification time in ns)


def import_ray() -> Any:
    """The ray module, or bad input naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise BadInput(f"--ray needs Ray, which is not installed; install it with: {INSTALL_HINT}") from None
    return ray


@contextlib.contextmanager
def connected(address: str) -> Iterator[Any]:
    """Connect this process to the Ray cluster at `address` ('auto' or HOST:PORT) for the block.

    Ray alone retries an address where no cluster answers for many minutes, deaf to Ctrl-C;
    here a port where nothing listens is refused at once, and any other silence after
    CONNECT_SECONDS.
    """
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


def run_on_ray(jobs: list[Job], settings: Settings, work: Work, on_update: Callable[[Update], None]) -> Outcome:
    """Run every job as one Ray task; write each finished run into settings.runs_dir. Needs `connected`."""
    ray = import_ray()
    runs_dir = settings.runs_dir.resolve()
    runs_dir.mkdir(parents=True, exist_ok=True)
    settings = replace(settings, runs_dir=runs_dir)
    data = ray.put(dataset_files(settings.data_dir, {job.config.dataset for job in jobs}))
    sink = ray.remote(num_cpus=0)(ProgressSink).remote()
    task = ray.remote(train_on_worker).options(max_retries=RETRIES, num_cpus=settings.threads)
    with _driver_token(runs_dir) as token:
        pending = {
            task.remote(job, settings, work, data, sink, token, partial_files(runs_dir / job.name)): job for job in jobs
        }
        return _collect(ray, pending, sink, runs_dir, on_update)


def _collect(
    ray: Any, pending: dict[Any, Job], sink: Any, runs_dir: Path, on_update: Callable[[Update], None]
) -> Outcome:
    outcome, finished = Outcome(), set[str]()
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0.3)
            _forward(ray.get(sink.take.remote()), finished, on_update)
            for ref in ready:
                job = pending[ref]
                _finish(ray, ref, job, runs_dir, outcome, on_update)
                del pending[ref]  # only once installed: Ctrl-C during the install finishes it below
                finished.add(job.name)
    except BaseException:
        # Ctrl-C: keep what is already done, stop the rest now.
        ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0)
        for ref in ready:
            with contextlib.suppress(Exception):
                _finish(ray, ref, pending.pop(ref), runs_dir, outcome, on_update)
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    return outcome


def _forward(updates: list[Update], finished: set[str], on_update: Callable[[Update], None]) -> None:
    for update in updates:
        if update.name not in finished:  # a late progress message must not revive a finished run
            on_update(update)


def _finish(
    ray: Any, ref: Any, job: Job, runs_dir: Path, outcome: Outcome, on_update: Callable[[Update], None]
) -> None:
    try:
        result, files = ray.get(ref)
    except Exception as exc:  # the task's own error (RayTaskError.cause), or a worker lost RETRIES times
        error = getattr(exc, "cause", None) or exc
        outcome.failures[job.name] = error
        on_update(Update(job.name, "failed", detail=str(error).strip().splitlines()[0][:300]))
        return
    if files is not None:
        install_run(runs_dir, job.name, files)
    outcome.parts[job.name] = result
    on_update(Update(job.name, "done", detail=f"test {result:.2%}" if isinstance(result, float) else ""))


class ProgressSink:
    """A Ray actor that holds workers' progress messages until the driver takes them."""

    def __init__(self) -> None:
        self.updates: list[Update] = []

    def put(self, update: Update) -> None:
        self.updates.append(update)

    def take(self) -> list[Update]:
        taken, self.updates = self.updates, []
        return taken


def train_on_worker(
    job: Job, settings: Settings, work: Work, data: dict[str, Any], sink: Any, token: str | None, partial: Files
) -> tuple[Any, Files | None]:
    """The Ray task: one run, in the shared runs dir when this worker sees it, else in a temp folder."""
    settings = replace(settings, data_dir=node_data_dir(data))

    def report(update: Update) -> None:
        if update.stage not in ("done", "failed"):  # the driver says when a run is done: once its files are in place
            sink.put.remote(update)

    if token is not None and _sees_token(settings.runs_dir, token):
        return work(job, settings, report), None
    with tempfile.TemporaryDirectory(prefix="cnnreport-ray-run-") as temp:
        write_files(Path(temp) / job.name, partial)
        result = work(job, replace(settings, runs_dir=Path(temp)), report)
        return result, read_files(Path(temp) / job.name)


# ---- data: from the driver's data dir, through the object store, to each node's cache ----
def dataset_files(data_dir: Path, datasets: set[str]) -> dict[str, Any]:
    """The IDX files of each dataset, in torchvision's layout, with a digest naming the set."""
    from cnnreport.ml.data import require_files

    files: dict[str, bytes] = {}
    for dataset in sorted(datasets):
        require_files(data_dir, dataset)
        for stem in (stem for pair in SPLIT_FILES.values() for stem in pair):
            path = find_idx_file(data_dir, dataset, stem)
            assert path is not None  # require_files found it
            files[f"{TORCHVISION_FOLDERS[dataset]}/raw/{path.name}"] = path.read_bytes()
    digest = hashlib.sha256(b"".join(name.encode() + content for name, content in sorted(files.items())))
    return {"digest": digest.hexdigest()[:16], "files": files}


def node_data_dir(data: dict[str, Any]) -> Path:
    """A data dir on this node holding the driver's dataset files (written once per node)."""
    folder = Path(tempfile.gettempdir()) / "cnnreport-ray-data" / data["digest"]
    for name, content in data["files"].items():
        target = folder / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
            temp.write_bytes(content)
            os.replace(temp, target)  # tasks on one node may write the same file at once
    return folder


# ---- run folders: sent to a worker to resume, sent back, swapped into the runs dir ----
def partial_files(run_dir: Path) -> Files:
    """A half-finished run's files, so a worker without the runs dir resumes it; empty if none."""
    return read_files(run_dir) if run_dir.is_dir() else {}


def read_files(run_dir: Path) -> Files:
    """Every file of a run folder but its lock and temp files, with modification times."""
    found: Files = {}
    for path in sorted(run_dir.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            found[str(path.relative_to(run_dir))] = (path.read_bytes(), path.stat().st_mtime_ns)
    return found


def write_files(folder: Path, files: Files) -> None:
    """Write files with their original modification times (which files are newer matters to resume)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (content, mtime_ns) in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.utime(target, ns=(mtime_ns, mtime_ns))


def install_run(runs_dir: Path, name: str, files: Files) -> None:
    """Put a finished run folder in place: written in a holding folder, then renamed over the old one.

    The holding folder sits one level down, so nothing that lists the runs takes a half-written
    copy for a run; an interruption before the swap leaves the old folder as it was.
    """
    holding = runs_dir / INCOMING
    holding.mkdir(exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=holding, prefix=f"{name}."))
    target, old = runs_dir / name, holding / f"{stage.name}.old"
    try:
        write_files(stage, files)
        if target.exists():
            os.rename(target, old)
        os.rename(stage, target)
    finally:
        if old.exists() and not target.exists():
            os.rename(old, target)
        for leftover in (stage, old):
            shutil.rmtree(leftover, ignore_errors=True)
        with contextlib.suppress(OSError):
            holding.rmdir()  # kept while another install is under way


@contextlib.contextmanager
def _driver_token(runs_dir: Path) -> Iterator[str | None]:
    """A token file in the runs dir; a worker that can read it trains there directly."""
    if os.environ.get(SHIP_RUNS) == "1":
        yield None
        return
    token = uuid.uuid4().hex
    path = runs_dir / f".ray-driver-{token}"
    path.write_text(token)
    try:
        yield token
    finally:
        path.unlink(missing_ok=True)


def _sees_token(runs_dir: Path, token: str) -> bool:
    try:
        return (runs_dir / f".ray-driver-{token}").read_text() == token
    except OSError:
        return False
