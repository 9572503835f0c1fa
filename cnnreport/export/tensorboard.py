"""Write runs as TensorBoard logs: one log folder per run (SWEEP/RUN for a sweep's runs).

Each folder holds the per-epoch scalars, the HParams plugin's session (hyperparameters and
final metrics: a sweep shows as a table and a parallel-coordinates view), the report's
figures as images and the penultimate-layer features for the Embedding Projector. Written
with torch's SummaryWriter over the tensorboard package's own event writer and protos.

A run is written to a temporary folder and renamed into place, so a folder in DIR is a
complete export; a manifest in DIR (key -> digest of the run's files) lets the next export
skip what did not change and replace what did.
"""

from __future__ import annotations

import functools
import secrets
import shutil
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnreport.errors import BadInput, RunError, WorkFailed
from cnnreport.export import content
from cnnreport.export.runs import Item, Outcome, digest, require
from cnnreport.report.results import RunResults
from cnnreport.storage.atomic import atomic_write
from cnnreport.storage.documents import document_text, parse_json

MANIFEST = "cnnreport-export.json"
SCHEMA_VERSION = 1
PARTIAL = ".cnnreport-partial-"  # a folder being written or replaced; removed by the next export
FINAL_PREFIX = "final/"
EMBEDDING_TAG = "penultimate_features"


@dataclass(frozen=True)
class Settings:
    tsne_samples: int
    data_dir: Path

    def text(self) -> str:
        """What changes an export besides the run's files (the data dir only adds thumbnails)."""
        return f"tensorboard tsne={self.tsne_samples} data={self.data_dir.resolve()}"


def export(items: Sequence[Item], to: Path, settings: Settings, on_done: Callable[[Outcome], None]) -> list[Outcome]:
    """Write each run under `to` unless its last export there is current; report each as it is done."""
    require("tensorboard")
    prepare(to)
    manifest = read_manifest(to)
    outcomes = []
    for item in items:
        found = digest(item.run, checkpoint=False, settings=settings.text())
        folder = to / item.key
        previous = manifest.get(item.key)
        if previous and previous.get("digest") == found and folder.is_dir():
            outcome = Outcome(item.key, "skipped", str(folder))
        else:
            replace_folder(folder, functools.partial(write_run, item, settings=settings))
            manifest[item.key] = {"digest": found, "run": str(item.run.path.resolve()), "exported": _now()}
            write_manifest(to, manifest)
            outcome = Outcome(item.key, "updated" if previous else "exported", str(folder))
        outcomes.append(outcome)
        on_done(outcome)
    return outcomes


def prepare(to: Path) -> None:
    """Make the log dir; refuse one that is a file or cannot be written (nothing written then)."""
    if to.exists() and not to.is_dir():
        raise BadInput(f"--to {to} is a file, not a folder")
    try:
        to.mkdir(parents=True, exist_ok=True)
        probe = to / f"{PARTIAL}probe-{secrets.token_hex(4)}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise BadInput(f"--to {to} cannot be written: {exc.strerror or exc}") from None


def read_manifest(to: Path) -> dict[str, Any]:
    path = to / MANIFEST
    if not path.exists():
        return {}
    data = parse_json(path)
    if (
        not isinstance(data, dict)
        or data.get("schema_version") != SCHEMA_VERSION
        or not isinstance(data.get("runs"), dict)
    ):
        raise RunError(f"{path}: not a cnnreport export manifest; choose another --to or remove it")
    return data["runs"]


def write_manifest(to: Path, runs: dict[str, Any]) -> None:
    text = document_text({"schema_version": SCHEMA_VERSION, "runs": runs})
    atomic_write(to / MANIFEST, lambda handle: handle.write(text.encode()))


def replace_folder(folder: Path, write: Callable[[Path], None]) -> None:
    """Write into a fresh folder beside `folder`, then swap it in; a failure leaves the old one."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    for stale in folder.parent.glob(f".{folder.name}{PARTIAL}*"):  # left by a killed export
        shutil.rmtree(stale, ignore_errors=True)
    partial = folder.parent / f".{folder.name}{PARTIAL}{secrets.token_hex(4)}"
    old = folder.parent / f".{folder.name}{PARTIAL}old-{secrets.token_hex(4)}"
    try:
        write(partial)
        if folder.exists():
            folder.rename(old)
        partial.rename(folder)
    except OSError as exc:
        raise WorkFailed(f"cannot write {folder}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def write_run(item: Item, logdir: Path, settings: Settings) -> None:
    """One run's log folder: scalars, the HParams session, the figures and the embedding."""
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams

    files = RunResults(item.run)
    epochs, final = content.epoch_values(files), content.final_values(files)
    last = len(epochs)
    tsne = content.prepare_tsne(files, settings.tsne_samples)
    with SummaryWriter(log_dir=str(logdir)) as writer:
        for step, values in enumerate(epochs, 1):
            for tag, value in values.items():
                writer.add_scalar(tag, value, step)
        metrics = {FINAL_PREFIX + name: value for name, value in final.items()}
        for summary in hparams(content.hyperparameters(files.config) | tags_of(item), metrics):
            writer.file_writer.add_summary(summary)
        for tag, value in metrics.items():
            writer.add_scalar(tag, value, last)
        for name, png in content.figures(files, tsne).items():
            writer.file_writer.add_summary(image_summary(name, png), last)
        if tsne is not None:
            add_embedding(writer, content.embedding(files, tsne, settings.data_dir), last)


def tags_of(item: Item) -> dict[str, content.Value]:
    """A sweep's run also carries its sweep and cell, so the HParams table can group by them."""
    return {"sweep": item.sweep, "cell": item.cell} if item.sweep and item.cell else {}


def image_summary(tag: str, png: bytes) -> Any:
    """An image summary holding the PNG as the report drew it (no decoding and re-encoding)."""
    from tensorboard.compat.proto.summary_pb2 import Summary

    width, height = struct.unpack(">II", png[16:24])  # the PNG's IHDR chunk
    image = Summary.Image(height=height, width=width, colorspace=4, encoded_image_string=png)
    return Summary(value=[Summary.Value(tag=tag, image=image)])


def add_embedding(writer: Any, found: content.Embedding, step: int) -> None:
    import torch

    pictures = None
    if found.thumbnails is not None:  # the projector shows each point as its digit
        pictures = torch.from_numpy(found.thumbnails.astype("float32") / 255.0).unsqueeze(1)
    metadata = [
        [name, str(digit), str(int(index))]
        for name, digit, index in zip(found.classes, found.digits, found.indices, strict=True)
    ]
    writer.add_embedding(
        torch.from_numpy(found.features), metadata=metadata, label_img=pictures, global_step=step,
        tag=EMBEDDING_TAG, metadata_header=["class", "digit", "test_index"],
    )  # fmt: skip


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
