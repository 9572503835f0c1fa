"""The report's opening: the best result with its test, banners for short or foreign runs, one name each."""

from __future__ import annotations

from pathlib import Path

from cnnreport.config import ExperimentConfig
from cnnreport.presets import PRESETS, TUNED
from cnnreport.report.document import RunPart, Section
from cnnreport.report.results import RunResults
from cnnreport.report.sections.banners import banners, short_reasons
from cnnreport.report.sections.overview import overview_section, set_aside_waiting
from cnnreport.storage.rundir import RunDir, create_run


def evaluated(runs: Path, name: str, config: ExperimentConfig, accuracy: float, epochs: int | None = None) -> RunDir:
    """A finished run with `accuracy` as evaluate's test accuracy; `epochs` trained (all planned by default)."""
    run = create_run(runs, name)
    run.write_config(config, f"cnnreport train --name {name}")
    done = config.epochs if epochs is None else epochs
    run.write_metrics([{"epoch": e, "train_loss": 0.1, "train_accuracy": 0.9, "test_loss": 0.1,
                        "test_accuracy": accuracy, "seconds": 1.0} for e in range(1, done + 1)])  # fmt: skip
    run.write_json(run.evaluation_file, {"test_accuracy": accuracy})
    return run


def results(runs: Path) -> list[RunResults]:
    return [RunResults(RunDir(path)) for path in sorted(runs.iterdir())]


def test_the_best_experiment_is_named_with_welchs_test_against_the_runner_up(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for base, config, accuracies in (
        ("mnist10", PRESETS["mnist10"].config, [0.9820, 0.9830, 0.9825]),
        ("tuned", TUNED.config, [0.9930, 0.9940, 0.9920]),
    ):
        for seed, accuracy in enumerate(accuracies):
            evaluated(runs, base + (f"-seed{seed}" if seed else ""), config.replace(seed=seed), accuracy)
    evaluated(runs, "mnist4", PRESETS["mnist4"].config, 0.99)
    section = overview_section(results(runs), [], [])
    assert "MNIST, 10 classes: best is tuned, 99.30 ± 0.10 % (n=3); ahead of mnist10 (98.25 ± 0.05 % (n=3))" in (
        section.intro
    )
    assert "by +1.05 pp, established (Welch p < 0.001; 95 % CI +0.84 to +1.26 pp; n = 3 vs 3)" in section.intro
    assert "MNIST, 4 classes: best is mnist4, 99.00 %; the only experiment on this task" in section.intro
    [table] = section.tables
    assert [row[0] for row in table.rows] == ["tuned", "mnist10", "mnist4"]  # one name each: the runs' own
    assert table.rows[0][4] == "best" and table.rows[1][4].startswith("-1.05 pp, established")
    assert any("Welch's two-sided t-test" in note and "p < 0.05" in note for note in section.notes)


def test_one_seed_each_makes_no_claim(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    evaluated(runs, "a", ExperimentConfig(), 0.90)
    evaluated(runs, "b", ExperimentConfig(augment=True), 0.95)
    section = overview_section(results(runs), [], [])
    assert "best is b, 95.00 %; ahead of a (90.00 %) by +5.00 pp; one seed on each side: no claim can be made" in (
        section.intro
    )


def test_nothing_evaluated_says_what_to_run(tmp_path: Path) -> None:
    run = create_run(tmp_path, "fresh")
    run.write_config(ExperimentConfig(), "cnnreport train")
    section = overview_section([RunResults(run)], [], [])
    assert "No run here is evaluated yet" in section.intro and not section.tables


def test_short_runs_and_foreign_runs_get_a_banner(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    evaluated(runs, "quick-mnist10", PRESETS["mnist10"].config.replace(limit=3000, epochs=2), 0.9)
    evaluated(runs, "stopped", PRESETS["augment"].config, 0.9, epochs=3)
    evaluated(runs, "mnist10", PRESETS["mnist10"].config, 0.98)
    evaluated(runs, "tuned", TUNED.config, 0.99)
    evaluated(runs, "fashion", ExperimentConfig(dataset="fashion-mnist"), 0.8)
    files = {f.run.name: f for f in results(runs)}
    assert short_reasons(files["quick-mnist10"]) == [
        "2 of the 10 epochs of Experiment 1: 10 classes",
        "first 3,000 training images only",
    ]
    assert short_reasons(files["stopped"]) == ["training stopped after 3 of 10 epochs"]
    assert short_reasons(files["mnist10"]) == [] and short_reasons(files["tuned"]) == []
    short, foreign = banners(list(files.values()))
    assert short.startswith("Short runs: quick-mnist10 (2 of the 10 epochs") and "stopped (training stopped" in short
    assert "mnist10 (" not in short.replace("quick-mnist10 (", "")
    assert foreign.startswith("Not the write-up's experiments: fashion (trained on Fashion-MNIST); tuned (the tuned")
    assert banners([files["mnist10"]]) == []  # a full re-run of the write-up needs no warning


def test_a_short_sweep_is_named_once(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    members = [RunResults(evaluated(runs, f"lr{i}", ExperimentConfig(lr=0.001 * i, epochs=1), 0.9)) for i in (1, 3)]
    [text] = banners([], {"s": members})
    assert text.startswith("Everything here is short: sweep s (1 of the 10 epochs of Experiment 1: 10 classes).")


def test_parts_that_wait_for_a_command_are_set_aside_and_named_once() -> None:
    waiting = Section("confusion", "Confusion matrix", missing="evaluation.json (run `cnnreport evaluate r` to make)")
    broken = Section("curves", "Learning curves", missing="metrics.json (no epoch was saved; re-run ...)")
    kept, titles, commands = set_aside_waiting("r", [broken, waiting])
    assert kept == [broken] and titles == ["Confusion matrix"] and commands == ["evaluate"]
    part = RunPart("r", "run-1-r", [], [], kept, waiting=["evaluate", "inspect"])
    note = overview_section([], [part], []).notes[0]
    assert note == (
        "Parts of r wait for a command and are left out until it runs: `cnnreport evaluate r`; `cnnreport inspect r`."
    )


def test_the_grouping_verdict_is_welchs_test(tmp_path: Path) -> None:
    from cnnreport.analyses.seeds import Experiment
    from cnnreport.report.sections.grouping import verdict
    from cnnreport.report.sections.measured import Measured

    def item(name: str, classes: int, accuracies: list[float], summed: list[float]) -> Measured:
        runs = tuple(RunDir(tmp_path / f"{name}{i}") for i in range(len(accuracies)))
        results = tuple(
            {"test_accuracy": a, "merged_groups": {"accuracy_summed": s, "accuracy_argmax": s}}
            for a, s in zip(accuracies, summed, strict=True)
        )
        config = ExperimentConfig(classes=classes)
        return Measured(Experiment(name, config, runs, tuple(range(len(runs)))), runs, results)

    four = item("mnist4", 4, [0.990, 0.991, 0.989], [0.0] * 3)
    ten = item("mnist10", 10, [0.982, 0.983, 0.981], [0.9895, 0.9905, 0.9900])
    text = verdict(four, ten)
    assert "Trained on the groups minus summed scoring: +0.00 pp, not established (Welch p = 1" in text
    assert text.endswith("Grouping does not measurably help.")
    alone = verdict(item("a", 4, [0.99], [0.0]), item("b", 10, [0.98], [0.95]))
    assert alone.endswith("+4.00 pp; one seed on each side: no claim can be made.")
