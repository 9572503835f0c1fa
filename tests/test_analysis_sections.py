"""End to end: evaluate saves every analysis, and every run and the study get every section.

Works on a copy of the session's trained runs (tiny10, tiny4) plus a second seed of tiny10
and Experiment-1 runs on synthetic Fashion-MNIST and KMNIST files, so the shared fixture
is never changed.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from cnnreport.analyses import robustness
from cnnreport.analyses.grouping import GROUP_OF_LABEL
from cnnreport.config import LABEL_NAMES
from cnnreport.report.document import Section
from cnnreport.report.results import RunResults
from cnnreport.report.sections import catalog
from cnnreport.report.sections.catalog import RUN_PARTS
from cnnreport.storage.rundir import ANALYSIS_ARRAYS, RunDir, create_run, list_runs
from tests.helpers import invoke
from tests.idx_files import write_dataset

NEW_FIELDS = ("dataset", "robustness", "merged_groups", "efficiency", "gradcam", "ece", "nll", "reliability")
STUDY_IDS = ["writeup", "robustness", "calibration", "grouping", "efficiency", "budget"]
NEEDS_EVALUATION = STUDY_IDS[1:5]  # the write-up comparison and the budget read only configs, status and metrics


def train_and_evaluate(runs: Path, data: Path, name: str, *options: str) -> None:
    common = ["--runs-dir", runs, "--data-dir", data]
    result = invoke("train", "--name", name, "--threads", "1", *options, *common)
    assert result.exit_code == 0, result.output
    result = invoke("evaluate", name, *common)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def study(tmp_path_factory, trained_runs: Path, data_dir: Path) -> Path:
    runs = tmp_path_factory.mktemp("analysis") / "runs"
    shutil.copytree(trained_runs, runs)
    train_and_evaluate(runs, data_dir, "tiny10-seed1", "--epochs", "2", "--seed", "1")  # tiny10's second seed
    other = tmp_path_factory.mktemp("other-datasets")
    for dataset in ("fashion-mnist", "kmnist"):
        write_dataset(other, train=200, test=100, layout="torchvision", dataset=dataset)
        train_and_evaluate(runs, other, dataset, "--epochs", "1", "--dataset", dataset)
    return runs


@pytest.fixture(scope="module")
def sections(study: Path) -> dict[str, list[Section]]:
    return {run.name: run_sections(run) for run in list_runs(study)}


def run_sections(run: RunDir) -> list[Section]:
    return catalog.run_sections(RunResults(run))


def study_sections(runs: list[RunDir]) -> list[Section]:
    return catalog.study_sections([RunResults(run) for run in runs])


@pytest.fixture(scope="module")
def studied(study: Path) -> dict[str, Section]:
    return {section.id: section for section in study_sections(list_runs(study))}


def text_of(section: Section) -> str:
    parts = [section.title, section.intro, *section.notes, section.missing or ""]
    for table in section.tables:
        parts += [table.caption, *table.header, *(cell for row in table.rows for cell in row)]
    parts += [text for figure in section.figures for text in (figure.alt, figure.caption)]
    return "\n".join(parts)


def test_evaluation_json_carries_every_analysis(study: Path):
    saved = RunDir(study / "tiny10").read_json(RunDir(study / "tiny10").evaluation_file)
    for field in NEW_FIELDS:
        assert field in saved, field
    assert saved["dataset"] == "mnist"
    assert set(saved["robustness"]["kinds"]) == {p.kind for p in robustness.PERTURBATIONS}
    assert saved["efficiency"]["params"] == saved["params_total"] == 4470
    assert saved["gradcam"]["layer"] == "conv3" and saved["gradcam"]["map_side"] == 4


def test_evaluate_json_prints_the_new_fields(trained_runs: Path, data_dir: Path, tmp_path: Path):
    runs = tmp_path / "runs"
    shutil.copytree(trained_runs / "tiny4", runs / "tiny4")
    result = invoke("evaluate", "tiny4", "--runs-dir", runs, "--data-dir", data_dir, "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["merged_groups"] is None  # a 4-class run has nothing to merge
    assert printed["efficiency"]["params"] == 4368
    assert printed["robustness"]["images"] == 200  # the synthetic test set is smaller than IMAGES


def test_merged_groups_match_the_saved_predictions(study: Path):
    run = RunDir(study / "tiny10")
    predictions = run.read_arrays(run.predictions_file)
    merged = run.read_json(run.evaluation_file)["merged_groups"]
    groups = [GROUP_OF_LABEL[d] for d in predictions["digits"]]
    by_argmax = [GROUP_OF_LABEL[int(np.argmax(row))] for row in predictions["logits"]]
    expected = sum(a == g for a, g in zip(by_argmax, groups, strict=True)) / len(groups)
    assert merged["accuracy_argmax"] == pytest.approx(expected)


def test_clean_robustness_point_matches_the_saved_predictions(study: Path):
    run = RunDir(study / "tiny10")
    predictions = run.read_arrays(run.predictions_file)
    curves = run.read_json(run.evaluation_file)["robustness"]["kinds"]
    subset = robustness.shared_subset(len(predictions["labels"])).numpy()
    clean = float((predictions["logits"][subset].argmax(1) == predictions["labels"][subset]).mean())
    assert all(curve["accuracy"][0] == pytest.approx(clean, abs=1e-6) for curve in curves.values())


def test_analysis_arrays(study: Path):
    import torch

    run = RunDir(study / "tiny10")
    arrays, predictions = run.read_arrays(run.analysis_file), run.read_arrays(run.predictions_file)
    assert set(arrays) == set(ANALYSIS_ARRAYS)
    np.testing.assert_array_equal(arrays["gradcam_gallery_indices"], predictions["gallery_indices"])
    for key in ("gradcam_gallery_predicted", "gradcam_gallery_true", "gradcam_correct"):
        assert arrays[key].shape[1:] == (28, 28)
        assert arrays[key].size == 0 or (arrays[key].min() >= 0 and arrays[key].max() <= 1)
    weights = torch.load(run.checkpoint_file, weights_only=True)["model"]["conv1.weight"]
    np.testing.assert_allclose(arrays["conv1_kernels"], weights[:, 0].numpy())


def test_every_run_gets_every_section(sections: dict[str, list[Section]]):
    assert set(sections) == {"tiny10", "tiny10-seed1", "tiny4", "fashion-mnist", "kmnist"}
    for name, parts in sections.items():
        assert [s.id for s in parts] == [part for part, _, _ in RUN_PARTS]
        for section in parts:
            assert section.missing is None, (section.id, section.missing)
            assert all(f.data_uri.startswith("data:image/png;base64,") for f in section.figures)
        by_part = {s.id: s for s in parts}
        for part in ("calibration", "robustness", "gradcam", "filters"):
            assert by_part[part].figures, (name, part)
        assert bool(by_part["grouping"].tables) == (name != "tiny4")


def test_study_sections_compare_experiments_with_seed_spread(studied: dict[str, Section]):
    assert list(studied) == STUDY_IDS
    assert all(s.missing is None for s in studied.values()), [s.missing for s in studied.values()]
    assert "cnnreport reproduce --with-tuned" in " ".join(studied["budget"].notes)  # no tuned run here
    rows = studied["robustness"].tables[0].rows
    tiny10 = next(row for row in rows if "tiny10-seed1" in row[2])
    assert "(n=2)" in tiny10[3] and "±" in tiny10[3]
    assert {row[1] for row in rows} == {"MNIST", "Fashion-MNIST", "KMNIST"}
    assert len(studied["robustness"].figures) >= 3  # one set of curves per dataset
    notes = " ".join(studied["grouping"].notes)
    # One name per experiment: the runs' own (tiny10 for tiny10 and tiny10-seed1), never one made from the options.
    assert "tiny4 scores" in notes and "tiny10 scores" in notes and "mnist10-e2" not in notes
    assert {row[0] for row in studied["efficiency"].tables[0].rows} == {"tiny10", "tiny4", "fashion-mnist", "kmnist"}
    assert len(studied["efficiency"].tables[0].rows) == 4  # tiny10 (2 seeds), tiny4, fashion, kmnist


@pytest.mark.parametrize("dataset, title", [("fashion-mnist", "Fashion-MNIST"), ("kmnist", "KMNIST")])
def test_other_datasets_are_named_everywhere(sections, study: Path, dataset: str, title: str):
    text = "\n".join(text_of(s) for s in sections[dataset])
    assert title in text
    assert not re.search(r"(?<![-K])MNIST", text.replace(title, "")), "names MNIST for a run on another dataset"
    evaluation = RunDir(study / dataset).read_json(RunDir(study / dataset).evaluation_file)
    assert evaluation["class_names"] == LABEL_NAMES[dataset]
    assert LABEL_NAMES[dataset][0] in text_of(sections[dataset][-1])  # the four groups by their label names


def test_sections_say_what_to_run_when_results_are_missing(tmp_path: Path, study: Path):
    bare = create_run(tmp_path, "bare")
    shutil.copy(study / "tiny10" / "config.json", bare.config_file)
    for section in run_sections(bare):
        assert section.missing and "cnnreport evaluate bare" in section.missing, section.id
    for section in study_sections([bare]):
        if section.id in NEEDS_EVALUATION:
            assert section.missing and "cnnreport evaluate" in section.missing, section.id


def test_an_evaluation_from_before_the_analyses_degrades(tmp_path: Path, study: Path):
    shutil.copytree(study / "tiny10", tmp_path / "old")
    old = RunDir(tmp_path / "old")
    result = old.read_json(old.evaluation_file)
    old.write_json(old.evaluation_file, {k: v for k, v in result.items() if k not in NEW_FIELDS[:5]})
    old.analysis_file.unlink()
    by_id = {s.id: s for s in run_sections(old)}
    assert by_id["calibration"].missing is None
    assert all(by_id[part].missing for part in ("robustness", "gradcam", "filters", "grouping"))


def test_malformed_results_cost_one_section_only(tmp_path: Path, study: Path):
    shutil.copytree(study / "tiny10", tmp_path / "odd")
    odd = RunDir(tmp_path / "odd")
    result = odd.read_json(odd.evaluation_file)
    odd.write_json(odd.evaluation_file, {**result, "robustness": {"kinds": "garbage"}})
    by_id = {s.id: s for s in run_sections(odd)}
    assert "unexpected shape" in (by_id["robustness"].missing or "")
    assert by_id["calibration"].missing is None
    assert {s.id: s for s in study_sections([odd])}["robustness"].missing
