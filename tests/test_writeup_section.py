"""The write-up comparison over seeds: mean ± std and whether the write-up lies in the spread."""

from __future__ import annotations

from pathlib import Path

from cnnreport.config import ExperimentConfig
from cnnreport.presets import PRESETS
from cnnreport.report.results import RunResults
from cnnreport.report.sections.writeup import NO_MATCH, writeup_section
from cnnreport.storage.rundir import RunDir, create_run


def fake_run(folder: Path, name: str, config: ExperimentConfig, train: float, test: float) -> RunDir:
    run = create_run(folder, name)
    run.write_config(config, "cnnreport train")
    run.write_metrics([{"epoch": 1, "train_loss": 0.1, "train_accuracy": train, "test_loss": 0.1,
                        "test_accuracy": test, "seconds": 1.0}])  # fmt: skip
    return run


def test_three_seeds_give_mean_std_and_a_verdict(tmp_path: Path) -> None:
    base = PRESETS["mnist10"].config
    runs = [fake_run(tmp_path, f"s{seed}", base.replace(seed=seed), 0.98, test)
            for seed, test in enumerate((0.9820, 0.9830, 0.9840))]  # fmt: skip
    runs.append(fake_run(tmp_path, "other", ExperimentConfig(epochs=3), 0.5, 0.5))  # matches no experiment
    [table] = writeup_section([RunResults(run) for run in runs]).tables
    [row] = table.rows
    assert row[0] == PRESETS["mnist10"].title and row[1] == "3"
    assert row[4] == "98.30 ± 0.10 % (n=3)" and row[5] == "98.27 %" and row[6] == "+0.03 pp"
    assert row[7].startswith("ours +0.03 pp, not established (one-sample t p = 0.66;") and row[7].endswith("n = 3)")


def test_one_seed_far_off_says_by_how_much(tmp_path: Path) -> None:
    run = fake_run(tmp_path, "b", PRESETS["dropout-augment"].config, 0.91, 0.9744)
    [row] = writeup_section([RunResults(run)]).tables[0].rows
    assert row[6] == "-0.38 pp" and row[7] == "ours -0.38 pp; one seed: no claim can be made (reproduce --seeds 3)"


def test_no_matching_run_names_what_is_missing(tmp_path: Path) -> None:
    run = fake_run(tmp_path, "q", PRESETS["mnist10"].config.replace(limit=3000), 0.9, 0.9)
    section = writeup_section([RunResults(run)])
    assert not section.tables and section.notes == [NO_MATCH]
