"""cnnreport: re-run, understand and share the small-CNN MNIST study.

The library API, for scripts and notebooks (the CLI is a thin adapter over it):

    from cnnreport import ExperimentConfig, PRESETS, create_run, train_run, evaluate_run, inspect_run
    from cnnreport import build_report, select_runs

Names are imported on first use (module __getattr__), so `import cnnreport` and the CLI's
`--help` stay fast and never load torch; only the training and evaluation names do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> the module that defines it.
_EXPORTS = {
    "ExperimentConfig": "cnnreport.config",
    "PRESETS": "cnnreport.presets",
    "Preset": "cnnreport.presets",
    "RunDir": "cnnreport.storage.rundir",
    "create_run": "cnnreport.storage.rundir",
    "list_runs": "cnnreport.storage.rundir",
    "resolve_run": "cnnreport.storage.rundir",
    "CnnReportError": "cnnreport.errors",
    "train_run": "cnnreport.ml.train",
    "load_model": "cnnreport.ml.model",
    "predict": "cnnreport.ml.inference",
    "evaluate_run": "cnnreport.jobs.evaluate",
    "inspect_run": "cnnreport.jobs.inspection",
    "build_report": "cnnreport.report.build",
    "select_runs": "cnnreport.report.build",
}
__all__ = [
    "PRESETS",
    "CnnReportError",
    "ExperimentConfig",
    "Preset",
    "RunDir",
    "__version__",
    "build_report",
    "create_run",
    "evaluate_run",
    "inspect_run",
    "list_runs",
    "load_model",
    "predict",
    "resolve_run",
    "select_runs",
    "train_run",
]

if TYPE_CHECKING:
    from cnnreport.config import ExperimentConfig
    from cnnreport.errors import CnnReportError
    from cnnreport.jobs.evaluate import evaluate_run
    from cnnreport.jobs.inspection import inspect_run
    from cnnreport.ml.inference import predict
    from cnnreport.ml.model import load_model
    from cnnreport.ml.train import train_run
    from cnnreport.presets import PRESETS, Preset
    from cnnreport.report.build import build_report, select_runs
    from cnnreport.storage.rundir import RunDir, create_run, list_runs, resolve_run


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is asked for."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'cnnreport' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
