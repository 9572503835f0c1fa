"""The CLI tells a newcomer where to start: the top help, --version, readable help, what follows `train`."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import tomllib

import cnnreport
from cnnreport.cli import app
from tests.helpers import invoke, runner

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
COMMANDS = ["train", "evaluate", "inspect", "reproduce", "report", "sweep", "list"]


def test_top_help_says_where_to_start_and_where_the_data_goes() -> None:
    text = " ".join(invoke("--help").stdout.split())
    assert "Start here: `cnnreport reproduce --quick`" in text
    assert "--data-dir" in text and "$CNNREPORT_DATA_DIR" in text


def test_version_prints_the_package_version() -> None:
    result = invoke("--version")
    version = tomllib.loads(PYPROJECT.read_text())["project"]["version"]
    assert result.exit_code == 0 and result.stdout == f"cnnreport {version}\n"
    assert cnnreport.__version__ == version


@pytest.mark.parametrize("command", COMMANDS)
def test_help_names_values_in_words_not_python_types(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert not re.search(r"<[a-z\[\]]+>", result.stdout), result.stdout  # no <int>, <path>, <list[str]>


def test_train_ends_by_naming_the_commands_that_follow_and_they_work(tmp_path: Path, data_dir: Path) -> None:
    runs = tmp_path / "my runs"
    args = ["--epochs", "1", "--limit", "100", "--threads", "1", "--name", "first", "--runs-dir", runs]
    result = invoke("train", *args, "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("next: cnnreport evaluate first "), last
    commands = [shlex.split(part) for part in last.removeprefix("next: ").split(", then ")]
    assert [command[:2] for command in commands] == [["cnnreport", "evaluate"], ["cnnreport", "inspect"],
                                                      ["cnnreport", "report"]]  # fmt: skip
    for command in commands[:2]:  # copied as printed, they find the run and its data
        followed = invoke(*command[1:])
        assert followed.exit_code == 0, followed.output
    report = invoke(*commands[2][1:], "-o", tmp_path / "report.html")
    assert report.exit_code == 0, report.output
