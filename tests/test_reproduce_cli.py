"""reproduce's promises through the CLI: a failed run, how it splits the cores, --dataset, --seeds K."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cnnreport import system
from cnnreport.jobs import reproduce as reproduce_module
from cnnreport.jobs.pool import Outcome
from cnnreport.presets import PRESETS
from cnnreport.storage.rundir import RunDir
from tests.helpers import invoke, visible_text
from tests.idx_files import write_dataset
from tests.test_report import Document
from tests.test_reproduce import reproduce


@pytest.fixture
def lean(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip what these tests do not look at and what costs seconds a run: the analyses beyond the
    write-up (evaluate's and each run's report sections) and sklearn's t-SNE. Runs with --jobs 1,
    in this process, where the stand-ins apply."""
    from cnnreport.analyses import tsne
    from cnnreport.jobs import evaluate
    from cnnreport.report.sections import catalog

    monkeypatch.setattr(evaluate, "analyze", lambda *args: ({"dataset": args[-1]}, {}))
    monkeypatch.setattr(catalog, "run_sections", lambda files: [])
    monkeypatch.setattr(tsne, "compute", lambda features, params, indices: features[indices, :2])


def test_a_failed_run_exits_1_and_the_others_are_still_rendered(tmp_path: Path, data_dir: Path, lean: None) -> None:
    # A run trained by hand under the name reproduce plans, with other options: reproduce must
    # refuse to resume it (it holds a checkpoint, so it is not a leftover to start afresh).
    clash = ["--classes", "4", "--epochs", "1", "--limit", "100", "--name", "quick-mnist4", "--threads", "1"]
    trained = invoke("train", *clash, "--runs-dir", tmp_path / "runs", "--data-dir", data_dir)
    assert trained.exit_code == 0, trained.output
    result = reproduce(tmp_path, data_dir, "--jobs", "1")
    assert result.exit_code == 1, result.output
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith("error: quick-mnist4: run 'quick-mnist4' was started with --epochs 1, not --epochs 2;")
    assert error.endswith("; resume it with the same options")
    ids = Document((tmp_path / "report.html").read_text()).ids
    rendered = {name for name in (f"quick-{preset}" for preset in PRESETS) if any(name in i for i in ids)}
    assert rendered == {f"quick-{preset}" for preset in PRESETS if preset != "mnist4"}


@pytest.mark.parametrize(
    ("cores", "jobs", "seeds", "processes", "threads"),
    [
        (2, None, 1, 2, 1),  # this project's machine: two runs at a time, one thread each
        (16, None, 1, 5, 3),  # never more processes than runs; the spare cores become threads
        (16, None, 3, 15, 1),
        (4, 1, 1, 1, 4),  # --jobs 1: one process gets every core
        (3, 2, 1, 2, 1),
    ],
)
def test_jobs_default_to_one_per_core_and_split_the_cores_into_threads(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, cores: int, jobs: int | None, seeds: int,
    processes: int, threads: int,
) -> None:  # fmt: skip
    seen: dict[str, Any] = {}

    def record(planned, settings, processes, on_update):  # stands in for the training
        seen.update(runs=len(planned), processes=processes, threads=settings.threads)
        return Outcome(failures={job.name: RuntimeError("not trained here") for job in planned})

    monkeypatch.setattr(system, "available_cores", lambda: cores)
    monkeypatch.setattr(reproduce_module, "run_all", record)
    result = reproduce(tmp_path, data_dir, "--seeds", str(seeds), *(["--jobs", str(jobs)] if jobs else []))
    assert result.exit_code == 1, result.output  # every run "failed": no report, exit 1
    assert seen == {"runs": 5 * seeds, "processes": processes, "threads": threads}
    said = " ".join(result.stderr.split())  # Rich wraps long lines
    assert f"reproducing {5 * seeds} runs in {tmp_path / 'runs'}, {processes} at a time" in said


def test_dataset_runs_all_five_experiments_on_another_dataset_into_their_own_runs(tmp_path: Path, lean: None) -> None:
    fashion = write_dataset(tmp_path / "data", layout="torchvision", gz=True, dataset="fashion-mnist")
    result = reproduce(tmp_path, fashion, "--dataset", "fashion-mnist", "--jobs", "1")  # no MNIST files needed
    assert result.exit_code == 0, result.output
    runs = sorted(path.name for path in (tmp_path / "runs").iterdir())
    assert runs == sorted(f"quick-fashion-mnist-{preset}" for preset in PRESETS)
    for name in runs:
        config = RunDir(tmp_path / "runs" / name).read_config()
        assert config.dataset == "fashion-mnist"
        preset = PRESETS[name.removeprefix("quick-fashion-mnist-")].config
        assert config.study_settings() == preset.replace(epochs=config.epochs).study_settings()
    html = (tmp_path / "report.html").read_text()
    assert "none: dataset fashion-mnist, the write-up used MNIST" in visible_text(html) and "Ankle boot" in html


def test_an_unknown_dataset_is_one_line_before_any_run(tmp_path: Path, data_dir: Path) -> None:
    result = reproduce(tmp_path, data_dir, "--dataset", "cifar10")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == ["error: --dataset must be one of mnist, fashion-mnist, kmnist"]
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_seeds_give_mean_and_std_and_a_verdict_against_the_write_up(
    tmp_path: Path, lean: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write-up's settings (not --quick: quick runs match no experiment) on a tiny synthetic set."""
    from cnnreport.report import build
    from cnnreport.report.document import RunPart

    # Each run's own part (figures) is report's business; the verdict is in the study sections.
    monkeypatch.setattr(build, "run_part", lambda files, *_: RunPart(files.run.name, "", [], [], [], [], ""))
    tiny = write_dataset(tmp_path / "data", train=100, test=100)
    result = invoke(
        "reproduce", "--seeds", "2", "--jobs", "1", "--tsne-samples", "40", "--runs-dir", tmp_path / "runs",
        "--data-dir", tiny, "-o", tmp_path / "report.html",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "runs").iterdir())) == 10
    html = (tmp_path / "report.html").read_text()
    table = html[html.index('id="study-writeup"') :].split("</table>", 1)[0]
    rows = {title: table[table.index(f'<th scope="row">{title}</th>') :].split("</tr>", 1)[0] for title in TITLES}
    for row in rows.values():
        assert '<td class="num">2</td>' in row and "(n=2)" in row, row
    # The verdict is a one-sample t-test over the two seeds against the write-up's 98.27 %.
    assert "established (one-sample t p " in visible_text(rows[PRESETS["mnist10"].title])


TITLES = [preset.title for preset in PRESETS.values()]
