"""Sweep files of the wrong shape: every key has a type and a range, checked before any folder is
made; each mistake is one line naming the file (exit 2), never a Python error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.helpers import assert_fails, cli
from tests.faults.hostile_user import assert_refused, cnnreport

GRID = "[grid]\nlr = [0.001]\n"
WRONG_SHAPES = {
    "a list as preset": ('preset = ["write-up-1"]\n' + GRID, "preset must be a string, not a list"),
    "a table as preset": ("preset = {a = 1}\n" + GRID, "preset must be a string, not a dict"),
    "an unknown preset": ('preset = "nope"\n' + GRID, "unknown --preset 'nope'"),
    "a list as name": ('name = ["a", "b"]\n' + GRID, "name must be a string, not a list"),
    "a number as name": ("name = 3\n" + GRID, "name must be a string, not 3"),
    "an empty name": ('name = ""\n' + GRID, "it is empty"),
    "a name with a slash": ('name = "a/b"\n' + GRID, "holds '/'"),
    "a hidden name": ('name = ".."\n' + GRID, "starts with '.'"),
    "a name too long": (f'name = "{"n" * 256}"\n' + GRID, "256 bytes, more than the 255"),
    "seeds = 0": ("seeds = 0\n" + GRID, "seeds must be at least 1 (range 1..100), not 0"),
    "seeds = 101": ("seeds = 101\n" + GRID, "seeds must be at most 100"),
    "seeds = 1.5": ("seeds = 1.5\n" + GRID, "seeds must be a whole number in 1..100, not 1.5"),
    "seeds = true": ("seeds = true\n" + GRID, "seeds must be a whole number in 1..100, not True"),
    "seeds as text": ('seeds = "2"\n' + GRID, "seeds must be a whole number in 1..100, not '2'"),
    "grid as a list": ("grid = [1, 2]\n", "[grid] must be a table"),
    "a list inside a grid list": ("[grid]\nlr = [[0.001]]\n", "grid.lr must be one string, number or true/false"),
    "a table as a grid value": ("[grid]\nlr = {a = 1}\n", "grid.lr must be one string, number or true/false"),
    "an empty grid list": ("[grid]\nlr = []\n", "no values listed"),
    "an empty grid": ("[grid]\n", "needs at least one --grid"),
    "a list in [options]": (
        "[options]\nepochs = [1, 2]\n" + GRID,
        "options.epochs must be one string, number or true/false",
    ),
    "a word as a number": ("[grid]\nepochs = ['many']\n", "'many' is not an integer"),
    "a date as a number": (
        "[grid]\nlr = [1979-05-27]\n",
        "grid.lr must be one string, number or true/false, not a date",
    ),
    "an unknown option": ("[grid]\nwidth = [1]\n", "'width': not a train option"),
    "an unknown key": ("colour = 1\n" + GRID, "unknown keys 'colour'"),
    "lists nested 5,000 deep": ("[grid]\nlr = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    "tables nested 5,000 deep": ("[grid]\nlr = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n", "nested too deeply"),
    "a huge value is quoted short": ("[grid]\nepochs = ['" + "x" * 100_000 + "']\n", "xxx..."),
}


@pytest.mark.parametrize(("toml", "message"), WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_each_key_of_the_wrong_shape_is_one_line(tmp_path: Path, toml: str, message: str) -> None:
    file = tmp_path / "shapes.toml"
    file.write_text(toml)
    runs = tmp_path / "runs"
    result = cli("sweep", file, "--runs-dir", runs, "--data-dir", tmp_path)
    assert_fails(result, 2, message)
    assert len(result.stderr) < 1000  # the huge value is not echoed back whole
    assert not runs.exists()


def test_deep_nesting_is_refused_by_a_real_process(tmp_path: Path) -> None:
    """The real interpreter's stack, not the test runner's, meets the file."""
    file = tmp_path / "deep.toml"
    file.write_text("[grid]\nlr = " + "[" * 100_000 + "]" * 100_000 + "\n")
    done = cnnreport("sweep", file, "--runs-dir", tmp_path / "runs")
    assert_refused(done, 2, str(file), "nested too deeply")
    assert not (tmp_path / "runs").exists()


def test_a_file_too_large_to_be_a_sweep_file(tmp_path: Path) -> None:
    file = tmp_path / "large.toml"
    file.write_text(GRID + "# padding\n" * 200_000)
    assert_fails(cli("sweep", file, "--runs-dir", tmp_path / "runs"), 2, "larger than the 1,048,576 bytes")


def test_the_command_line_gets_the_same_checks(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    assert_fails(cli("sweep", "--grid", "lr=0.1", "--name", "", "--runs-dir", runs), 2, "it is empty")
    assert_fails(cli("sweep", "--grid", "lr=0.1", "--name", ".x", "--runs-dir", runs), 2, "starts with '.'")
    assert_fails(cli("sweep", "--grid", "lr=0.1", "--seeds", "0", "--runs-dir", runs), 2, "--seeds must be at least 1")
    assert not runs.exists()
