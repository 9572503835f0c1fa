"""The tuned preset, its ablation runs, the report section that shows them, and runs saved before issue 12."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import torch

from cnnreport.ablation import parameter_count, used_ingredients, without
from cnnreport.config import ExperimentConfig
from cnnreport.jobs import reproduce as reproduce_job
from cnnreport.jobs import sweep_run  # noqa: F401 - binds the real run_all before a test here patches it
from cnnreport.jobs.evaluate import evaluate_run
from cnnreport.jobs.pool import Outcome
from cnnreport.jobs.reproduce import plan
from cnnreport.ml.checkpoint import load_checkpoint, save_checkpoint
from cnnreport.ml.model import build_model
from cnnreport.ml.train import train_run
from cnnreport.presets import PRESETS, TUNED, default_run_name, preset_config
from cnnreport.report.results import RunResults
from cnnreport.report.sections import catalog
from cnnreport.report.sections.budget import budget_section
from cnnreport.report.sections.summary import explicit_commands
from cnnreport.storage.rundir import RunDir, create_run
from tests.helpers import invoke
from tests.test_train import StopAfter, final_state

NEW_FIELDS = ("schedule", "label_smoothing", "weight_decay", "widths", "validation", "ema", "rotate", "shift")


def test_tuned_preset_keeps_the_budget() -> None:
    model = build_model(TUNED.config)
    assert sum(p.numel() for p in model.parameters()) <= 5000
    assert TUNED.config.epochs <= 15
    assert TUNED.id not in PRESETS  # not one of the write-up's five
    assert preset_config("tuned") == TUNED.config
    assert default_run_name(TUNED.config.replace(seed=2)) == "tuned-seed2"


def test_reproduce_plans_the_tuned_runs_only_when_asked() -> None:
    assert {job.name for job in plan(1)} == set(PRESETS)
    assert {job.name for job in plan(2, with_tuned=True)} - {job.name for job in plan(2)} == {"tuned", "tuned-seed1"}
    ablation = {job.name: job.config for job in plan(2, ablation=True)}
    for ingredient in used_ingredients():
        assert ablation[f"tuned-no-{ingredient.id}"] == without(ingredient)
        assert ablation[f"tuned-no-{ingredient.id}-seed1"] == without(ingredient).replace(seed=1)
    assert "tuned" in ablation  # the reference the ablation is measured against


def test_tuned_runs_on_another_dataset_are_named_after_it() -> None:
    jobs = {job.name: job.config for job in plan(1, dataset="kmnist", ablation=True)}
    assert jobs["kmnist-tuned"] == TUNED.config.replace(dataset="kmnist")
    for ingredient in used_ingredients():
        assert jobs[f"kmnist-tuned-no-{ingredient.id}"] == without(ingredient).replace(dataset="kmnist")
    assert not any(name.startswith("tuned") for name in jobs)  # never resumes or skips an MNIST run


def test_each_ablation_puts_back_exactly_one_ingredient() -> None:
    removed = {i.id: without(i) for i in used_ingredients()}
    assert set(removed) == {
        "schedule",
        "batchnorm",
        "widths",
        "batchsize",
        "weightdecay",
        "ema",
    }  # what the preset uses now
    assert removed["schedule"].schedule == "constant" and removed["schedule"].lr == 0.001
    assert removed["batchnorm"] == TUNED.config.replace(batch_norm=False)
    assert removed["widths"] == TUNED.config.replace(widths=(16, 8, 4))
    assert removed["batchsize"] == TUNED.config.replace(batch_size=20)
    assert removed["ema"] == TUNED.config.replace(ema=0.0)


def strip_new_fields(run: RunDir) -> None:
    """Rewrite a run's config.json and checkpoint as a version without issue 12's options wrote them."""
    data = json.loads(run.config_file.read_text())
    data["config"] = {k: v for k, v in data["config"].items() if k not in NEW_FIELDS}
    run.config_file.write_text(json.dumps(data))
    state = load_checkpoint(run)
    state["config"] = {k: v for k, v in state["config"].items() if k not in NEW_FIELDS}
    state.pop("scheduler", None)
    save_checkpoint(run, {k: v for k, v in state.items() if k != "schema_version"})


def test_runs_saved_before_the_new_options_load_resume_and_evaluate(tmp_path: Path, data_dir: Path) -> None:
    torch.set_num_threads(1)
    config = ExperimentConfig(epochs=2)
    straight = create_run(tmp_path, "straight")
    train_run(straight, config, data_dir=data_dir, device="cpu")
    old = create_run(tmp_path, "old")
    with pytest.raises(KeyboardInterrupt):
        train_run(old, config, data_dir=data_dir, device="cpu", on_epoch=StopAfter(1))
    strip_new_fields(old)
    assert old.read_config() == config  # missing fields take their defaults
    train_run(old, config, data_dir=data_dir, device="cpu", resume=True)
    (weights_a, metrics_a), (weights_b, metrics_b) = final_state(straight), final_state(old)
    assert metrics_a == metrics_b and all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)
    strip_new_fields(old)
    assert evaluate_run(old, data_dir)["params_total"] == 4470
    result = invoke("report", "old", "--runs-dir", tmp_path, "-o", tmp_path / "r.html", "--tsne-samples", "60")
    assert result.exit_code == 0, result.output


def finished_run(runs: Path, name: str, config: ExperimentConfig, accuracy: float, status: str = "finished") -> None:
    """A run folder as training leaves it, with `accuracy` as the last epoch's test accuracy."""
    run = create_run(runs, name)
    run.write_config(config, f"cnnreport train --name {name}")
    rows = [
        {"epoch": e, "train_loss": 0.1, "train_accuracy": 0.99, "test_loss": 0.05, "test_accuracy": accuracy,
         "seconds": 3.0}
        for e in range(1, config.epochs + 1)
    ]  # fmt: skip
    run.write_metrics(rows)
    run.write_status(status, epochs_done=config.epochs)


def seeds_of(runs: Path, base: str, config: ExperimentConfig, accuracies: list[float]) -> None:
    for seed, accuracy in enumerate(accuracies):
        finished_run(runs, base + (f"-seed{seed}" if seed else ""), config.replace(seed=seed), accuracy)


def section_of(runs: Path):
    return budget_section([RunResults(RunDir(p)) for p in sorted(runs.iterdir())])


def test_budget_section_compares_the_tuned_recipe_and_its_ablation(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    seeds_of(runs, "mnist10", PRESETS["mnist10"].config, [0.9820, 0.9830, 0.9825])
    seeds_of(runs, "tuned", TUNED.config, [0.9930, 0.9940, 0.9920])  # 99.30 ± 0.10 %
    seeds_of(runs, "tuned-no-batchnorm", without(used_ingredients()[1]), [0.9900, 0.9910, 0.9890])  # -0.30 pp
    seeds_of(runs, "tuned-no-schedule", without(used_ingredients()[0]), [0.9928, 0.9935, 0.9925])  # -0.01 pp, inside
    finished_run(runs, "tuned-seed3", TUNED.config.replace(seed=3), 0.5, status="interrupted")  # not finished
    finished_run(runs, "quick-tuned", TUNED.config.replace(limit=3000, epochs=2), 0.9)  # not the recipe
    section = section_of(runs)
    assert section.missing is None and section.title == "How far the same budget goes"
    comparison, ablation = section.tables
    assert [row[0] for row in comparison.rows] == [PRESETS["mnist10"].title, TUNED.title]
    tuned_row = comparison.rows[1]
    assert tuned_row[1] == "tuned, tuned-seed1, tuned-seed2" and tuned_row[2] == "4,942"
    assert tuned_row[4] == "99.30 ± 0.10 % (n=3)" and tuned_row[5] == "—"
    assert comparison.rows[0][5] == "-1.05 pp"
    rows = {row[0].split(" (")[0]: row for row in ablation.rows}
    assert rows["batch normalisation"][3:5] == ["99.00 ± 0.10 % (n=3)", "-0.30 pp"]
    assert rows["batch normalisation"][5].startswith("-0.30 pp, established (Welch p = 0.02")
    assert rows["one-cycle schedule"][4] == "-0.01 pp"
    assert rows["one-cycle schedule"][5].startswith("-0.01 pp, not established (Welch p = 0.92;")
    assert "not established, do not read it as real" in section.intro and "Welch's two-sided t-test" in section.intro
    for missing in ("channel widths", "batch size"):
        assert "missing: run `cnnreport reproduce --ablation --seeds 3`" in rows[missing][1]
    assert any("--ablation" in note for note in section.notes)


def test_budget_section_says_what_to_run_when_nothing_is_there(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    seeds_of(runs, "mnist10", PRESETS["mnist10"].config, [0.9820])
    section = section_of(runs)
    assert not section.tables and section.missing is None  # the write-up's report is complete without it
    assert "`cnnreport reproduce --with-tuned --seeds 3`" in section.notes[0] and "--ablation" in section.notes[0]


def test_budget_section_is_a_study_section_of_the_report(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    seeds_of(runs, "tuned", TUNED.config, [0.9930, 0.9940])
    by_id = {s.id: s for s in catalog.study_sections([RunResults(RunDir(p)) for p in sorted(runs.iterdir())])}
    assert by_id["budget"].missing is None and by_id["budget"].tables
    output = tmp_path / "report.html"
    result = invoke("report", "--runs-dir", runs, "-o", output, "--tsne-samples", "60")
    assert result.exit_code == 0, result.output
    html = output.read_text()
    assert "How far the same budget goes" in html and "99.35 ± 0.07 % (n=2)" in html


def test_a_run_with_every_new_option_repeats_from_its_report_command_and_reports(tmp_path: Path, data_dir: Path):
    config = ExperimentConfig(
        epochs=1, limit=300, validation=100, schedule="cosine", label_smoothing=0.1, weight_decay=0.01,
        widths=(8, 6, 5), batch_norm=True, ema=0.9, rotate=6.0, shift=0.05,
    )  # fmt: skip
    command = shlex.split(explicit_commands("again", config)[0])[2:]  # after `cnnreport train`
    common = ["--runs-dir", tmp_path, "--data-dir", data_dir]
    result = invoke("train", *command, "--threads", "1", *common)
    assert result.exit_code == 0, result.output
    assert RunDir(tmp_path / "again").read_config() == config
    for step in ("evaluate", "inspect"):
        result = invoke(step, "again", *common)
        assert result.exit_code == 0, result.output
    output = tmp_path / "report.html"
    result = invoke("report", "again", "-o", output, "--runs-dir", tmp_path, "--tsne-samples", "60")
    assert result.exit_code == 0, result.output
    assert "the analysis failed" not in output.read_text()
    assert evaluate_run(RunDir(tmp_path / "again"), data_dir)["params_total"] == parameter_count(config)


@pytest.mark.parametrize(("flags", "extra"), [([], set()), (["--with-tuned"], {"tuned"}), (["--ablation"], None)])
def test_reproduce_flags_reach_the_plan(tmp_path: Path, data_dir: Path, monkeypatch, flags, extra) -> None:
    planned: list[str] = []

    def record(jobs, settings, processes, on_update):  # stands in for training: records, trains nothing
        planned.extend(job.name for job in jobs)
        return Outcome(failures={job.name: RuntimeError("not trained here") for job in jobs})

    monkeypatch.setattr(reproduce_job, "run_all", record)
    result = invoke("reproduce", *flags, "--runs-dir", tmp_path, "--data-dir", data_dir, "--jobs", "1")
    assert result.exit_code == 1 and "not trained here" in result.output
    expected = set(PRESETS) | (
        extra if extra is not None else {"tuned"} | {f"tuned-no-{i.id}" for i in used_ingredients()}
    )
    assert set(planned) == expected
