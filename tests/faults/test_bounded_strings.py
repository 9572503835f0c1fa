"""Strings taken from a run folder are bounded: a megabytes-long class label (or key) in a run's
JSON file is refused in one line before the report spends memory laying it out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnreport.storage.documents import MAX_STRING_CHARS
from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import assert_fails, cli, copy_run

LONG = 5_000_000


@pytest.fixture
def evaluated(tmp_path: Path, reference: RunDir, fault_data: Path) -> RunDir:
    run = copy_run(reference, tmp_path / "runs")
    assert cli("evaluate", run.path, "--data-dir", fault_data, "--json").exit_code == 0
    return run


def edit_evaluation(run: RunDir, change) -> None:
    document = json.loads(run.evaluation_file.read_text())
    change(document)
    run.evaluation_file.write_text(json.dumps(document))


def test_a_five_megabyte_class_label_is_refused_by_report(evaluated: RunDir, tmp_path: Path) -> None:
    edit_evaluation(evaluated, lambda document: document["per_class"][0].update({"class": "x" * LONG}))
    output = tmp_path / "report.html"
    result = cli("report", evaluated.path, "-o", output)
    assert_fails(result, 2, str(evaluated.evaluation_file), f"{LONG:,} characters", f"{MAX_STRING_CHARS:,}")
    assert not output.exists()


def test_a_long_key_is_refused_as_a_long_value_is(evaluated: RunDir, tmp_path: Path) -> None:
    edit_evaluation(evaluated, lambda document: document.update({"k" * (MAX_STRING_CHARS + 1): 1}))
    assert_fails(cli("report", evaluated.path, "-o", tmp_path / "report.html"), 2, "characters")


def test_strings_up_to_the_bound_are_read(evaluated: RunDir, tmp_path: Path) -> None:
    label = "y" * MAX_STRING_CHARS
    edit_evaluation(evaluated, lambda document: document["per_class"][0].update({"class": label}))
    result = cli("report", evaluated.path, "-o", tmp_path / "report.html")
    assert result.exit_code == 0, result.output
    assert label in (tmp_path / "report.html").read_text()


def test_list_shows_a_run_with_a_long_string_as_unreadable(tmp_path: Path, reference: RunDir) -> None:
    run = copy_run(reference, tmp_path / "runs")
    config = json.loads(run.config_file.read_text())
    run.config_file.write_text(json.dumps({**config, "command": "c" * LONG}))
    result = cli("list", "--runs-dir", tmp_path / "runs", "--json")
    assert result.exit_code == 0, result.output
    (line,) = json.loads(result.stdout)["runs"]
    assert line["status"].startswith("unreadable:") and f"{LONG:,} characters" in line["status"]
