"""Shared fixtures: synthetic IDX data on disk and one small trained, evaluated, inspected run."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.helpers import invoke, pytest_runtest_makereport  # noqa: F401 - the CI hook, registered here
from tests.idx_files import write_dataset

os.environ["CNNREPORT_OFFLINE"] = "1"  # tests never try to download datasets

# A runner may start pytest with SIGINT ignored (a background job of a non-interactive shell is),
# and an ignored signal stays ignored across exec: the processes the Ctrl-C tests interrupt would
# never see theirs. A handled signal is reset to the default on exec, so theirs work as in a terminal.
signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("idx"), layout="torchvision", gz=True)


@pytest.fixture(scope="session")
def trained_runs(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """A runs dir with two tiny runs (10 and 4 classes), each trained, evaluated and inspected."""
    runs = tmp_path_factory.mktemp("runs")
    for name, extra in (("tiny10", []), ("tiny4", ["--classes", "4", "--augment", "--dropout", "0.2"])):
        common = ["--runs-dir", runs, "--data-dir", data_dir]
        result = invoke("train", "--epochs", "2", "--name", name, "--threads", "1", *extra, *common)
        assert result.exit_code == 0, result.output
        for command in ("evaluate", "inspect"):
            result = invoke(command, name, *common)
            assert result.exit_code == 0, result.output
    return runs
