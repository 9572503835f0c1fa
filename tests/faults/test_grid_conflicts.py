"""Contradictory or colliding sweep options are refused (exit 2) before any folder is made: an
option both fixed and varied by the grid, and grid values that would share one cell folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.helpers import assert_fails, cli

FIXED_AND_GRID = {
    "--epochs and --grid epochs": (["--grid", "epochs=1,2", "--epochs", "3"], "", "--epochs 3"),
    "--limit and --grid limit": (["--grid", "limit=100,200", "--limit", "300"], "", "--limit 300"),
    "--epochs and the file's [grid]": (["--epochs", "3"], "[grid]\nepochs = [1, 2]\n", "--epochs 3"),
    "the file's [options] and --grid": (["--grid", "lr=0.1,0.2"], "[grid]\nepochs = [1]\n[options]\nlr = 0.3\n", "lr"),
    "the file's [options] and its [grid]": ([], "[grid]\nlr = [0.1, 0.2]\n[options]\nlr = 0.3\n", "[options]"),
}


@pytest.mark.parametrize(("args", "toml", "named"), FIXED_AND_GRID.values(), ids=FIXED_AND_GRID.keys())
def test_an_option_both_fixed_and_varied_is_refused(tmp_path: Path, args: list[str], toml: str, named: str) -> None:
    file = tmp_path / "sweep.toml"
    file.write_text(toml)
    runs = tmp_path / "runs"
    assert_fails(cli("sweep", *([file] if toml else []), *args, "--runs-dir", runs), 2, "grid", named)
    assert not runs.exists()


SAME_FOLDER = {
    "lr past 6 digits": ("lr=0.001,0.0010000001", "'0.001' and '0.0010000001'", "lr0.001"),
    "dropout written two ways": ("dropout=0.1,1e-1", "'1e-1' is listed twice (as '0.1')", ""),
    "booleans spelled two ways": ("augment=yes,true", "'true' is listed twice (as 'yes')", ""),
    "integers with a leading zero": ("epochs=1,01", "'01' is listed twice (as '1')", ""),
    "rotate past 6 digits": ("rotate=10.0000001,10.0000002", "'10.0000001' and '10.0000002'", "rotate10"),
}


@pytest.mark.parametrize(("grid", "both", "folder"), SAME_FOLDER.values(), ids=SAME_FOLDER.keys())
def test_values_that_share_a_cell_folder_are_refused(tmp_path: Path, grid: str, both: str, folder: str) -> None:
    assert_fails(cli("sweep", "--grid", grid, "--runs-dir", tmp_path), 2, both, folder)
    assert list(tmp_path.iterdir()) == []


def test_values_in_a_sweep_file_that_share_a_folder_are_refused(tmp_path: Path) -> None:
    file = tmp_path / "sweep.toml"
    file.write_text("[grid]\nlr = [0.003, 0.0030000004]\n")
    assert_fails(cli("sweep", file, "--runs-dir", tmp_path / "runs"), 2, "0.003", "0.0030000004", "lr0.003")
    assert not (tmp_path / "runs").exists()
