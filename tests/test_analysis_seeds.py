"""Grouping runs into experiments and reading differences against the seed spread."""

from __future__ import annotations

import statistics

import pytest

from cnnreport.analyses import seeds
from cnnreport.analyses.seeds import Spread
from cnnreport.config import ExperimentConfig, dataset_title
from cnnreport.report.format import spread
from cnnreport.report.sections.measured import spread_notes
from cnnreport.storage.rundir import create_run


def test_mean_std_matches_statistics():
    values = [0.981, 0.975, 0.979]
    spread = seeds.mean_std(values)
    assert spread.mean == pytest.approx(statistics.mean(values))
    assert spread.std == pytest.approx(statistics.stdev(values))
    assert spread.n == 3


def test_mean_std_of_one_and_of_none():
    assert seeds.mean_std([0.5]) == Spread(0.5, 0.0, 1)
    assert seeds.mean_std([float("nan"), 0.5]).n == 1
    assert seeds.mean_std([]).n == 0


def test_format():
    assert spread(Spread(0.98273, 0.0, 1)) == "98.27 %"
    assert spread(Spread(0.98273, 0.00123, 3)) == "98.27 ± 0.12 % (n=3)"
    assert spread(Spread(0.1234, 0.01, 2), scale=1, digits=3, unit="") == "0.123 ± 0.010 (n=2)"
    assert spread(seeds.mean_std([])) == "n/a"


def test_spread_notes_name_pairs_the_test_does_not_separate():
    notes = spread_notes(
        "test accuracy",
        {"A": Spread(0.980, 0.003, 3), "B": Spread(0.982, 0.003, 3), "C": Spread(0.95, 0.001, 3)},
    )
    assert len(notes) == 1
    assert notes[0].startswith("test accuracy, A against B: -0.20 pp, not established (Welch p = 0.46;")
    one_seed = spread_notes("ECE", {"A": Spread(0.01, 0.0, 1), "B": Spread(0.02, 0.001, 3)}, scale=1, unit="")
    assert one_seed == ["ECE: one seed on a side, so no claim is made about A and B."]


def make_runs(tmp_path, configs):
    runs = []
    for name, config in configs:
        run = create_run(tmp_path, name)
        run.write_config(config, "test")
        runs.append(run)
    return runs


def test_group_by_experiment(tmp_path):
    base = ExperimentConfig()
    runs = make_runs(
        tmp_path,
        [
            ("a-seed0", base),
            ("b-aug", base.replace(augment=True)),
            ("a-seed1", base.replace(seed=1)),
            ("fashion", base.replace(dataset="fashion-mnist")),
            ("limited", base.replace(limit=1000)),
        ],
    )
    broken = create_run(tmp_path, "broken")
    broken.config_file.write_text("not json")
    experiments = seeds.group_by_experiment([*runs, broken])
    assert [[r.name for r in e.runs] for e in experiments] == [
        ["a-seed0", "a-seed1"],
        ["b-aug"],
        ["fashion"],
        ["limited"],
    ]
    assert experiments[0].seeds == (0, 1)
    assert [e.label for e in experiments] == ["a", "b-aug", "fashion", "limited"]  # the runs' own names
    assert experiments[2].dataset == "fashion-mnist"


def test_an_experiment_is_named_after_its_runs_never_after_its_options():
    assert seeds.experiment_name(["mnist10", "mnist10-seed1", "mnist10-seed2"]) == "mnist10"
    assert seeds.experiment_name(["quick-mnist10"]) == "quick-mnist10"
    assert seeds.experiment_name(["x-s0", "x-s1"]) == "x-s0, x-s1"


def test_dataset_titles():
    assert [dataset_title(d) for d in ("mnist", "fashion-mnist", "kmnist")] == [
        "MNIST",
        "Fashion-MNIST",
        "KMNIST",
    ]
