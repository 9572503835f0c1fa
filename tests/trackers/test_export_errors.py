"""Bad input and failures of `cnnreport export`: one line, exit 2 or 1, nothing claimed that was not done."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import invoke

pytestmark = pytest.mark.trackers
ROOT = Path(__file__).resolve().parents[2]

# Put first on the path of a child Python, this makes importing the named packages fail, as if not installed.
BLOCKER = """
import sys
class Hidden:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError(f"No module named {{name!r}}")
sys.meta_path.insert(0, Hidden())
"""


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


@pytest.mark.parametrize("tracker", ["tensorboard", "mlflow"])
def test_a_missing_run_is_one_line_and_exit_2(tracker: str, export_runs: Path, tmp_path: Path):
    result = invoke("export", tracker, "tiny10", "nope", "--runs-dir", export_runs, "--to", tmp_path / "out")
    assert result.exit_code == 2
    assert error_lines(result.output) == [
        f"error: unknown run 'nope': no run directory with a config.json at {export_runs / 'nope'} or nope"
    ]
    assert not (tmp_path / "out").exists()  # tiny10 was not exported before the bad name was found


def test_a_run_without_a_saved_epoch_is_refused_before_anything_is_written(fresh_runs: Path, tmp_path: Path):
    (fresh_runs / "tiny4" / "metrics.json").unlink()
    result = invoke("export", "tensorboard", "--runs-dir", fresh_runs, "--to", tmp_path / "logs")
    assert result.exit_code == 2 and "tiny4: no epoch saved yet" in result.output
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize("inside", [False, True])
def test_a_log_dir_that_cannot_be_written_is_exit_2(export_runs: Path, tmp_path: Path, inside: bool):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    target = blocker / "logs" if inside else blocker
    result = invoke("export", "tensorboard", "tiny10", "--runs-dir", export_runs, "--to", target)
    assert result.exit_code == 2
    (line,) = error_lines(result.output)
    assert line.startswith(f"error: --to {target} ") and ("file, not a folder" in line or "cannot be written" in line)


def test_an_unreachable_tracking_server_fails_fast_in_one_line(export_runs: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    result = invoke("export", "mlflow", "tiny10", "--runs-dir", export_runs, "--to", "http://127.0.0.1:1")
    assert result.exit_code == 1
    assert error_lines(result.output) == [
        "error: MLflow tracking server http://127.0.0.1:1 cannot be reached; is it running?"
    ]


def test_a_file_store_works_when_named(export_runs: Path, tmp_path: Path):
    from mlflow.tracking import MlflowClient

    uri = f"file:{tmp_path / 'store'}"
    result = invoke("export", "mlflow", "tiny4", "--runs-dir", export_runs, "--to", uri, "--tsne-samples", "40")
    assert result.exit_code == 0, result.output
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("cnnreport").experiment_id])
    assert run.data.tags["cnnreport.run_id"] == "tiny4" and run.data.params["classes"] == "4"


@pytest.mark.parametrize(("tracker", "module"), [("tensorboard", "tensorboard"), ("mlflow", "mlflow")])
def test_without_the_extra_the_command_says_how_to_install_it(
    tracker: str, module: str, export_runs: Path, tmp_path: Path
):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER.format(blocked=[module]))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    command = [sys.executable, "-m", "cnnreport", "export", tracker, "--runs-dir", str(export_runs), "--to",
               str(tmp_path / "out")]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        f"error: {module} is not installed; install the trackers extra: pip install 'cnnreport[trackers]'"
    )
    assert not (tmp_path / "out").exists()
