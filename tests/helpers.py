"""Helpers shared by the test modules (fixtures live in conftest.py, which tests never import)."""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from cnnreport.cli import app

runner = CliRunner()
REAL_MNIST = Path(os.environ.get("CNNREPORT_DATA_DIR", "../shared/data"))


def invoke(*args: object):
    """Run the CLI in-process and return the click Result."""
    return runner.invoke(app, [str(a) for a in args])
