"""sweep: grids parsed and refused like train's options; runs planned, skipped, resumed and reused."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from cnnreport.config import ExperimentConfig
from cnnreport.errors import BadInput
from cnnreport.jobs.ray_runner import install_run
from cnnreport.jobs.sweep import OPTIONS, build_spec, cells, parse_grid_option, plan
from cnnreport.ml.train import train_run
from cnnreport.report.sections.sweep import sweep_runs
from cnnreport.storage.rundir import RunDir, create_run, list_runs
from tests.helpers import invoke, visible_text
from tests.idx_files import write_dataset
from tests.test_train import StopAfter

TINY = ["--epochs", "1", "--threads", "1"]


def sweep(runs: Path, data: Path, *args: str):
    return invoke("sweep", *args, "--runs-dir", runs, "--data-dir", data, "--device", "cpu")


def test_grid_options_are_typed_like_train_options() -> None:
    assert parse_grid_option("lr=0.0003, 0.001,0.003") == ("lr", (0.0003, 0.001, 0.003))
    assert parse_grid_option("batch-size=20,64") == ("batch_size", (20, 64))
    assert parse_grid_option("batch_norm=yes,off") == ("batch_norm", (True, False))
    assert parse_grid_option("dataset=mnist,kmnist") == ("dataset", ("mnist", "kmnist"))
    assert parse_grid_option("lr=1") == ("lr", (1.0,))


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ("lr=", "no values"),
        ("lr", "OPTION=VALUE"),
        ("learning-rate=0.1", "not a train option"),
        ("seed=1,2", "--seeds"),
        ("lr=fast", "not a number"),
        ("batch-size=2.5", "not an integer"),
        ("augment=maybe", "true or false"),
        ("lr=0.001,0.001", "listed twice"),
    ],
)
def test_bad_grid_options_are_refused(grid: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        parse_grid_option(grid)


def test_cells_are_every_combination_named_by_their_options() -> None:
    found = cells({"lr": (0.001, 0.003), "batch_size": (20, 64), "augment": (True,)})
    assert [c.name for c in found] == [
        "lr0.001_batch-size20_augment-on", "lr0.001_batch-size64_augment-on",
        "lr0.003_batch-size20_augment-on", "lr0.003_batch-size64_augment-on",
    ]  # fmt: skip
    assert found[1].options == {"lr": 0.001, "batch_size": 64, "augment": True}


def test_a_sweep_file_plans_the_same_runs_as_the_options(tmp_path: Path) -> None:
    file = tmp_path / "lr-batch.toml"
    file.write_text('preset = "mnist10"\nseeds = 2\n[grid]\nlr = [0.001, 0.003]\nbatch-size = [20, 64]\n')
    from_file = plan(build_spec(file, []), tmp_path / "runs")
    grid = ["lr=0.001,0.003", "batch-size=20,64"]
    from_options = plan(build_spec(None, grid, name="lr-batch", preset="mnist10", seeds=2), tmp_path / "runs")
    assert from_file.jobs == from_options.jobs and len(from_file.jobs) == 8
    assert from_file.folder == tmp_path / "runs" / "lr-batch" and not from_file.folder.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--grid", "lr=-0.1,0.001"],  # refused by the config, exactly as train --lr -0.1
        ["--grid", "dropout=0.5,1.0"],
        ["--grid", "lr=0.001", "--grid", "lr=0.003"],
        ["--grid", "lr=0.001", "--seeds", "0"],
        ["--grid", "lr=0.001", "--preset", "nope"],
        ["--grid", "lr=0.001", "--jobs", "0"],
        ["--grid", "dataset=kmnist"],  # its files are not in the data dir
        [],
    ],
)
def test_bad_sweeps_exit_2_before_any_folder(tmp_path: Path, args: list[str]) -> None:
    data = write_dataset(tmp_path / "data", train=20, test=10, layout="torchvision")  # MNIST only
    result = sweep(tmp_path / "runs", data, *args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("content", ["unknown = 1\n[grid]\nlr = [0.1]\n", '[grid]\nlr = ["a"]\n', "[grid\n"])
def test_bad_sweep_files_exit_2(tmp_path: Path, content: str) -> None:
    (tmp_path / "s.toml").write_text(content)
    result = sweep(tmp_path / "runs", tmp_path, str(tmp_path / "s.toml"))
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output


def test_ray_without_ray_installed_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    data = write_dataset(tmp_path / "data", train=20, test=10)
    result = sweep(tmp_path / "runs", data, "--grid", "lr=0.001", "--ray", "auto")
    assert result.exit_code == 2, result.output
    assert 'pip install "cnnreport[ray]"' in result.output and not (tmp_path / "runs").exists()


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A sweep of 2 learning rates x 2 seeds, trained by two worker processes."""
    folder = tmp_path_factory.mktemp("sweep")
    data = write_dataset(folder / "data", train=300, test=100)
    args = ["--grid", "lr=0.001,0.003", "--seeds", "2", "--name", "s", "--jobs", "2", *TINY]
    result = sweep(folder / "runs", data, *args)
    assert result.exit_code == 0, result.output
    return folder / "runs", data


def checkpoint_times(folder: Path) -> dict[str, int]:
    return {run.name: run.checkpoint_file.stat().st_mtime_ns for run in list_runs(folder)}


def test_sweep_writes_run_folders_and_sweep_json(swept: tuple[Path, Path]) -> None:
    runs, _ = swept
    names = ["lr0.001-seed0", "lr0.001-seed1", "lr0.003-seed0", "lr0.003-seed1"]
    assert [run.name for run in list_runs(runs / "s")] == names
    for run in list_runs(runs / "s"):
        assert run.read_status()["status"] == "finished" and run.evaluation_file.exists()
        assert run.read_config().lr == (0.001 if "0.001" in run.name else 0.003)
    document = json.loads((runs / "s" / "sweep.json").read_text())
    assert document["grid"] == {"lr": [0.001, 0.003]} and document["seeds"] == [0, 1]
    assert document["preset"] is None and document["fixed"] == {"epochs": 1} and document["created"]
    assert [cell["runs"] for cell in document["cells"]] == [names[:2], names[2:]]


def test_the_same_sweep_again_skips_finished_runs(swept: tuple[Path, Path]) -> None:
    runs, data = swept
    before = checkpoint_times(runs / "s")
    result = sweep(runs, data, "--grid", "lr=0.001,0.003", "--seeds", "2", "--name", "s", *TINY)
    assert result.exit_code == 0, result.output
    assert "4 already finished" in result.output and checkpoint_times(runs / "s") == before
    assert "4/4" in result.output  # the overall bar starts at the runs already finished


def test_a_bigger_grid_reuses_the_cells_it_shares(swept: tuple[Path, Path]) -> None:
    runs, data = swept
    before = checkpoint_times(runs / "s")
    created = json.loads((runs / "s" / "sweep.json").read_text())["created"]
    args = ["--grid", "lr=0.001,0.003,0.01", "--grid", "batch-size=20", "--seeds", "2", "--name", "s", *TINY]
    result = sweep(runs, data, *args, "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert "6 runs" in result.output and "4 already finished" in result.output
    after = checkpoint_times(runs / "s")
    assert {name: after[name] for name in before} == before and len(after) == 6
    document = json.loads((runs / "s" / "sweep.json").read_text())
    assert document["created"] == created and document["cells"][0]["runs"] == ["lr0.001-seed0", "lr0.001-seed1"]


def test_a_half_finished_run_is_resumed(tmp_path: Path, swept: tuple[Path, Path]) -> None:
    _, data = swept
    planned = plan(build_spec(None, ["lr=0.003"], name="half", fixed={"epochs": 2}), tmp_path)
    job = planned.jobs[0]
    with pytest.raises(KeyboardInterrupt):
        train_run(create_run(planned.folder, job.name), job.config, data_dir=data, on_epoch=StopAfter(1))
    first_epoch = RunDir(planned.folder / job.name).read_metrics()
    result = sweep(tmp_path, data, "--grid", "lr=0.003", "--name", "half", "--epochs", "2", "--threads", "1")
    assert result.exit_code == 0, result.output
    metrics = RunDir(planned.folder / job.name).read_metrics()
    assert [row["epoch"] for row in metrics] == [1, 2] and metrics[0] == first_epoch[0]


def test_report_shows_the_sweep_section_not_its_runs(swept: tuple[Path, Path], tmp_path: Path) -> None:
    runs, _ = swept
    result = invoke("report", "--runs-dir", runs, "-o", tmp_path / "r.html", "--tsne-samples", "60")
    assert result.exit_code == 0, result.output
    html = (tmp_path / "r.html").read_text()
    assert 'id="study-sweep-' in html and "Sweep s" in html and "Best cell:" in html
    assert "the write-up&#39;s setting" in html  # lr 0.001 at batch 20 is the write-up's setting
    assert 'id="run-1-' not in html  # no per-run part unless asked
    one = tmp_path / "one.html"
    result = invoke("report", "s/lr0.003-seed1", "--runs-dir", runs, "-o", one, "--tsne-samples", "60")
    assert result.exit_code == 0, result.output
    assert 'id="run-1-lr0-003-seed1"' in one.read_text()


def test_report_takes_a_sweep_by_name_or_path(swept: tuple[Path, Path], tmp_path: Path) -> None:
    runs, _ = swept
    by_name, by_path = tmp_path / "name.html", tmp_path / "path.html"
    for name, output in (("s", by_name), (str(runs / "s"), by_path)):
        result = invoke("report", name, "s/lr0.001-seed0", "--runs-dir", runs, "-o", output, "--tsne-samples", "60")
        assert result.exit_code == 0, result.output
    for html in (by_name.read_text(), by_path.read_text()):
        assert html.count('id="study-sweep-') == 1 and "Sweep s" in html
        assert 'id="run-1-lr0-001-seed0"' in html and 'id="run-2-' not in html  # the run named, no other
    alone = tmp_path / "alone.html"
    assert invoke("report", "s", "--runs-dir", runs, "-o", alone, "--tsne-samples", "60").exit_code == 0
    assert 'id="study-sweep-' in alone.read_text() and 'id="run-1-' not in alone.read_text()
    result = invoke("report", "nothing-here", "--runs-dir", runs, "-o", tmp_path / "x.html")
    assert result.exit_code == 2 and "unknown run 'nothing-here'" in result.output


def test_report_of_a_sweep_alone_is_a_complete_page(swept: tuple[Path, Path], tmp_path: Path) -> None:
    runs, _ = swept
    alone = tmp_path / "alone.html"
    result = invoke("report", "s", "--runs-dir", runs, "-o", alone, "--tsne-samples", "60")
    assert result.exit_code == 0 and f"(1 sweep of {len(sweep_runs(runs / 's'))} runs;" in result.output
    html = alone.read_text()
    text = visible_text(html)
    assert "0 runs" not in text and "Sweep: s." in text and 'class="missing"' not in html  # no false Missing box
    summary = html[html.index('id="summary"') :].split("</table>", 1)[0]
    assert all(f">{name}</th>" in summary for name in ("lr0.001-seed0", "lr0.003-seed1"))  # the sweep's runs
    overview = visible_text(html[html.index('id="overview"') : html.index('id="setup"')])
    # Which cell wins is up to training (and a bigger grid may have joined the sweep): the best
    # named is one of its cells, with its two seeds, tested against the runner-up's two.
    cell_names = [cell["name"] for cell in json.loads((runs / "s" / "sweep.json").read_text())["cells"]]
    assert any(f"Sweep s: best cell is {name}, " in overview for name in cell_names), overview
    assert "(n=2)" in overview and "n = 2 vs 2" in overview
    assert "Everything here is short: sweep s (1 of the 10 epochs of Experiment 1" in text
    assert "Every run of this sweep trained 1 of its 10 epochs" in text


def test_a_run_sent_back_from_ray_replaces_the_old_folder_whole(tmp_path: Path) -> None:
    old = tmp_path / "r"
    old.mkdir()
    (old / "stale.json").write_text("{}")
    install_run(tmp_path, "r", {"config.json": (b"{}", 1_000_000_000)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    assert [p.name for p in old.iterdir()] == ["config.json"]
    assert (old / "config.json").stat().st_mtime_ns == 1_000_000_000


def test_cells_are_judged_against_the_write_ups_setting_by_welchs_test() -> None:
    from cnnreport.analyses.seeds import Spread
    from cnnreport.report.sections.sweep import reference_cell, verdict

    reference = Spread(0.980, 0.001, 3)
    assert verdict(Spread(0.990, 0.001, 3), reference, False).startswith("+1.00 pp, established (Welch p < 0.001;")
    assert verdict(Spread(0.981, 0.001, 3), reference, False).startswith("+0.10 pp, not established (Welch p = 0.29;")
    one = verdict(Spread(0.99, 0.0, 1), Spread(0.98, 0.0, 1), False)
    assert one == "+1.00 pp; one seed on each side: no claim can be made"
    cells = [
        {"name": "a", "options": {"lr": 0.003, "batch-size": 20}},
        {"name": "b", "options": {"lr": 0.001, "batch-size": 20}},
    ]
    sweep = {"preset": "mnist10", "grid": {"lr": [0.003, 0.001], "batch-size": [20]}, "cells": cells}
    assert reference_cell(sweep) == ("b", {"lr": 0.001, "batch-size": 20})


def test_an_install_interrupted_before_the_swap_leaves_the_old_folder(tmp_path: Path, monkeypatch) -> None:
    from cnnreport.jobs import ray_runner

    old = tmp_path / "r"
    old.mkdir()
    (old / "config.json").write_text("{}")

    def interrupted(folder: Path, files: dict) -> None:
        (folder / "config.json").write_text("{}")  # half written when Ctrl-C comes
        raise KeyboardInterrupt

    monkeypatch.setattr(ray_runner, "write_files", interrupted)
    with pytest.raises(KeyboardInterrupt):
        install_run(tmp_path, "r", {"config.json": (b"{}", 1)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"] and [p.name for p in old.iterdir()] == ["config.json"]
    assert [run.name for run in list_runs(tmp_path)] == ["r"]


def test_a_grid_may_vary_every_train_option_but_the_seed_and_the_widths() -> None:
    """A new train option becomes a grid option too (seeds have --seeds; --widths' commas would clash)."""
    fields = {field.name.replace("_", "-") for field in dataclasses.fields(ExperimentConfig)}
    assert set(OPTIONS) == fields - {"seed", "widths"}
