"""The report's one reader of a finished run: lazy, cached reads of its files, and what to run when one is missing.

Strict reads (`config`, `metrics`, `evaluation`, ...) raise RunError naming the file, which
the section guard turns into a "missing" note; lenient ones (`evaluation_with`,
`analysis_with`, ...) answer None, for sections that explain the gap themselves. Nothing
here writes: the caches the report fills are written by caches.py before any section is made.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from cnnreport.analyses.tsne import Tsne
from cnnreport.config import ExperimentConfig, class_names
from cnnreport.errors import CnnReportError, RunError
from cnnreport.storage.rundir import WRITTEN_BY, RunDir


def hint(command: str, run: str) -> str:
    """The one way the report names the command that makes what is missing: `cnnreport evaluate NAME`."""
    return f"`cnnreport {command} {run}`"


def evaluate_hint(run: RunDir) -> str:
    """What the user runs to produce missing or outdated analysis results."""
    return f"run {hint('evaluate', run.name)} (with this version of cnnreport)"


def missing_note(run: RunDir, exc: Exception) -> str:
    """What is absent and which command makes it; other failures as their message."""
    text = str(exc).replace(f"{run.path}/", "")
    file = text.removesuffix(": missing")
    if file == text or file not in WRITTEN_BY:
        return text
    command = WRITTEN_BY[file]
    if command == "train":
        return f"{file} (no epoch was saved; re-run its training command with --resume)"
    if not run.checkpoint_file.exists():
        return f"{file} (the run has no checkpoint, so it cannot be evaluated or inspected; train it first)"
    return f"{file} (run {hint(command, run.name)} to make it)"


class RunResults:
    """Everything the report reads from one run directory, each file read at most once."""

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self.tsne_outcome: Tsne | Exception | None = None  # set by the cache-filling step of build

    @cached_property
    def config(self) -> ExperimentConfig:
        return self.run.read_config()

    @cached_property
    def metrics(self) -> list[dict[str, Any]]:
        return self.run.read_metrics()

    @cached_property
    def evaluation(self) -> dict[str, Any]:
        return self.run.read_json(self.run.evaluation_file)

    @cached_property
    def anatomy(self) -> dict[str, Any]:
        return self.run.read_json(self.run.anatomy_file)

    @cached_property
    def predictions(self) -> dict[str, np.ndarray]:
        return self.run.read_arrays(self.run.predictions_file)

    @cached_property
    def layers(self) -> dict[str, np.ndarray]:
        return self.run.read_arrays(self.run.layer_outputs_file)

    @cached_property
    def analysis(self) -> dict[str, np.ndarray]:
        return self.run.read_arrays(self.run.analysis_file)

    @cached_property
    def names(self) -> list[str]:
        return class_names(self.config.dataset, self.config.classes)

    @cached_property
    def status(self) -> dict[str, Any]:
        """The run's status record; a corrupt run.json is reported, not fatal."""
        try:
            return self.run.read_status()
        except Exception as exc:  # noqa: BLE001
            return {"status": "unreadable", "error": str(exc)}

    @property
    def tsne(self) -> Tsne:
        """The embedding the cache-filling step found or made; its failure, raised here for the section."""
        if isinstance(self.tsne_outcome, Exception):
            raise self.tsne_outcome
        if self.tsne_outcome is None:
            raise RunError("t-SNE was not prepared before the sections were built")
        return self.tsne_outcome

    def evaluation_with(self, *needed: str) -> dict[str, Any] | None:
        """evaluation.json, or None when absent, unreadable, or lacking a `needed` field (an older evaluation)."""
        found = self._lenient("evaluation")
        return found if found is not None and all(key in found for key in needed) else None

    def analysis_with(self, *needed: str) -> dict[str, np.ndarray] | None:
        """analysis.npz, or None when absent, unreadable, or lacking a `needed` array."""
        found = self._lenient("analysis")
        return found if found is not None and all(key in found for key in needed) else None

    def predictions_or_none(self) -> dict[str, np.ndarray] | None:
        return self._lenient("predictions")

    def config_or_none(self) -> ExperimentConfig | None:
        return self._lenient("config")

    def _lenient(self, name: str) -> Any:
        try:
            return getattr(self, name)
        except CnnReportError:
            return None

    def release_arrays(self) -> None:
        """Forget the large arrays once the run's figures are drawn (they are read again on demand)."""
        for name in ("predictions", "layers", "analysis"):
            self.__dict__.pop(name, None)
