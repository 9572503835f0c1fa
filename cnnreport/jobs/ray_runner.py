"""Run jobs on a Ray cluster: one task per run, retried when a worker or node dies.

Workers need only cnnreport installed. The driver puts the dataset files into Ray's object
store once; each task writes them to a cache on its node, trains into a temporary folder
and returns the finished run folder's files, which the driver swaps into the runs dir.
When a worker sees the runs dir at the driver's path (a shared file system, or the same
machine), it trains there directly instead: the driver leaves a token file in the runs
dir, and a worker that can read it knows the folder is the driver's.

A task that dies with its worker is retried by Ray (RETRIES times): in the runs dir it
resumes from the last saved epoch; in a temporary folder it starts again from the copy
the driver sent. Connecting to the cluster is jobs/ray_connect.py's.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from cnnreport.jobs.pool import Outcome, Update
from cnnreport.jobs.ray_connect import import_ray
from cnnreport.jobs.reproduce import Job, Settings, Work
from cnnreport.ml.data import SPLIT_FILES, TORCHVISION_FOLDERS, find_idx_file

RETRIES = 3  # attempts after the first when a worker process or node dies
INCOMING = ".cnnreport-incoming"  # in the runs dir: run folders sent back, while they are written
CANCEL_GRACE = 2.0  # seconds a cancelled task has to clean up before its worker is killed
OnUpdate = Callable[[Update], None]
Files = dict[str, tuple[bytes, int]]  # relative path -> (content, modification time in ns)


def run_on_ray(jobs: list[Job], settings: Settings, work: Work, on_update: Callable[[Update], None]) -> Outcome:
    """Run every job as one Ray task; write each finished run into settings.runs_dir. Needs `connected`."""
    ray = import_ray()
    runs_dir = settings.runs_dir.resolve()
    runs_dir.mkdir(parents=True, exist_ok=True)
    settings = replace(settings, runs_dir=runs_dir)
    data = ray.put(dataset_files(settings.data_dir, {job.config.dataset for job in jobs}))
    sink = ray.remote(num_cpus=0)(ProgressSink).remote()
    task = ray.remote(train_on_worker).options(max_retries=RETRIES, num_cpus=settings.threads)
    with driver_token(runs_dir) as token:
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
        _cancel(ray, list(pending))
        raise
    return outcome


def _cancel(ray: Any, refs: list[Any]) -> None:
    """Stop the tasks: politely first, so each removes its temporary run folder (its `with` block
    sees a KeyboardInterrupt), then, after CANCEL_GRACE seconds, by killing their workers."""
    if not refs:
        return
    still_running = refs
    try:
        for ref in refs:
            ray.cancel(ref, force=False)
        _, still_running = ray.wait(refs, num_returns=len(refs), timeout=CANCEL_GRACE)
    finally:  # a second Ctrl-C during the grace still stops every task
        # Only the tasks still running: a forced cancel of one that has just ended can meet its
        # reply on the way and abort Ray's own worker ("Tried to complete task that was not pending").
        for ref in still_running:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)


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
            try:
                temp.write_bytes(content)
                os.replace(temp, target)  # tasks on one node may write the same file at once
            finally:  # a cancelled task leaves no half-written copy behind
                temp.unlink(missing_ok=True)
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
def driver_token(runs_dir: Path) -> Iterator[str | None]:
    """A token file in the runs dir; a worker that can read it trains there directly, any other
    sends its run back. (The cluster tests replace this with one that yields None, to act as a
    cluster whose nodes share no file system with the driver.)"""
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
