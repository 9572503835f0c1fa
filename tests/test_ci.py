"""CI cannot go green on a skipped test: with CI=true, the suite's skips become failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIPPING_TEST = """
import pytest

def test_needs_something_absent():
    pytest.skip("no Chromium at /nowhere")

def test_runs():
    assert True
"""


def run_pytest(folder: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    """pytest on one skipping test, with this suite's conftest hooks and CI set or unset."""
    (folder / "conftest.py").write_text("from tests.helpers import pytest_runtest_makereport  # noqa: F401\n")
    (folder / "test_skipping.py").write_text(SKIPPING_TEST)
    (folder / "pytest.ini").write_text("[pytest]\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"PYTHONPATH": str(ROOT)}
    env |= {"CI": ci} if ci is not None else {}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(folder)]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)


@pytest.mark.parametrize(("ci", "exit_code"), [(None, 0), ("false", 0), ("true", 1)])
def test_a_skip_fails_the_run_only_in_ci(tmp_path: Path, ci: str | None, exit_code: int) -> None:
    done = run_pytest(tmp_path, ci)
    assert done.returncode == exit_code, done.stdout
    if exit_code:
        assert "1 failed, 1 passed" in done.stdout
        assert "skipped in CI, where every test must run: no Chromium at /nowhere" in done.stdout
    else:
        assert "1 passed, 1 skipped" in done.stdout
