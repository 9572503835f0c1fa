"""The report command: one self-contained document with every section for every run."""

from __future__ import annotations

import base64
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cnnreport.analyses import tsne
from cnnreport.config import ExperimentConfig
from cnnreport.errors import BadInput, RunError
from cnnreport.presets import TUNED
from cnnreport.report import build as report
from cnnreport.report import format, render
from cnnreport.report.document import RunPart, Section, Table
from cnnreport.report.figures import embed
from cnnreport.report.results import RunResults
from cnnreport.report.sections import catalog
from cnnreport.report.sections.run import expected_params_note
from cnnreport.report.sections.summary import match_text, summary_table
from cnnreport.storage.rundir import RunDir
from tests.helpers import invoke, visible_text

SECTIONS = ("architecture", "curves", "confusion", "per-class", "errors", "layers", "activations", "tsne")
SAMPLES = "60"  # a small t-SNE keeps the tests quick
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HOSTILE = "<img src=x onerror=alert(1)>"


class Document(HTMLParser):
    """The parts of the HTML the tests look at: tags, ids, links, images, missing notes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: set[str] = set()
        self.ids_in_order: list[str] = []
        self.links: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.missing = html.count('class="missing"')
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags.append(tag)
        self.ids.update([values["id"]] if values.get("id") else [])
        self.ids_in_order.extend([values["id"]] if values.get("id") else [])
        self.links.extend([values["href"]] if values.get("href") else [])
        if tag == "img":
            self.images.append(values)


def copy_runs(source: Path, target: Path) -> Path:
    shutil.copytree(source, target / "runs")
    return target / "runs"


def build(runs_dir: Path, *args: str) -> str:
    output = runs_dir.parent / "report.html"
    result = invoke("report", "-o", output, "--runs-dir", runs_dir, "--tsne-samples", SAMPLES, *args)
    assert result.exit_code == 0, result.output
    return output.read_text()


@pytest.fixture(scope="module")
def runs_copy(trained_runs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's runs, copied: report writes its t-SNE cache into them."""
    return copy_runs(trained_runs, tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def document(runs_copy: Path) -> Document:
    return Document(build(runs_copy))


@pytest.fixture(autouse=True)
def no_analyses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leave out the analyses beyond the write-up: they have their own tests and cost seconds.

    The module's `document` is built with them, since higher-scoped fixtures run first.
    """
    monkeypatch.setattr(catalog, "run_sections", lambda files: [])
    monkeypatch.setattr(catalog, "study_sections", lambda runs: [])


@pytest.fixture
def fast_tsne(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Stand in for sklearn where a test is about something else; counts the calls."""
    calls: list[int] = []
    monkeypatch.setattr(tsne, "compute", lambda features, params, indices: calls.append(1) or features[indices, :2])
    return calls


def test_every_run_has_every_section_in_the_write_ups_order(document: Document, runs_copy: Path):
    order = document.ids_in_order
    expected = ["summary", "curves", "compare", "setup"]  # what compares runs first, then each run
    for position, name in enumerate(("tiny10", "tiny4"), 1):
        anchor = f"run-{position}-{name}"
        expected += [anchor, *(f"{anchor}-{section}" for section in SECTIONS)]
    assert all(order.count(i) == 1 for i in expected)  # every section once, so positions are unambiguous
    assert sorted(expected, key=order.index) == expected  # and in the write-up's order, run after run
    assert document.missing == 0  # trained, evaluated and inspected: nothing missing, no analysis failed


def test_every_image_is_an_embedded_png_with_alt_text(document: Document):
    per_run = 1 + 1 + 1 + 1 + 6 + 1 + 1 + 1  # curves, confusion, gallery, input, 6 layers, scores, maps, t-SNE
    assert len(document.images) >= 2 * per_run
    for image in document.images:
        src, alt = str(image["src"]), image.get("alt")
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1], validate=True).startswith(PNG_SIGNATURE)
        assert alt and alt.strip()


def test_document_is_self_contained(document: Document, runs_copy: Path):
    html = (runs_copy.parent / "report.html").read_text()
    assert not {"link", "iframe", "object", "embed"} & set(document.tags)
    assert all(link.startswith("#") for link in document.links)
    assert "default-src 'none'" in html  # the CSP forbids any request when opened
    # One script runs, the report's own, allowed by its hash; the others are JSON data.
    script = render.script_source(render.template_environment())
    assert f'script-src {render.csp_hash(script)}">' in html
    assert html.count("<script>") == 1 and f"<script>{script}</script>" in html
    assert document.tags.count("script") == 1 + html.count('<script type="application/json" id="data-')
    assert "http://" not in html and "https://" not in html


def test_contents_links_all_land_on_a_section(document: Document):
    targets = {link[1:] for link in document.links}
    assert targets and targets <= document.ids


def test_summary_shows_each_runs_numbers_and_the_write_up_beside_them(runs_copy: Path, tmp_path: Path):
    matching = copy_runs(runs_copy, tmp_path) / "tiny10"
    run = RunDir(matching)
    run.write_config(ExperimentConfig(seed=3), "cnnreport train --preset mnist10 --seed 3")  # Experiment 1's settings
    files = [RunResults(RunDir(runs_copy / "tiny4")), RunResults(run)]
    rows = {row[0]: row[1:] for row in summary_table(files).rows}
    ours = [RunResults(r.run).evaluation["test_accuracy"] for r in files]
    assert rows["Test accuracy"] == [f"{a * 100:.2f} %" for a in ours]
    assert rows["Parameters"] == ["4,368", "4,470"]
    assert rows["Write-up experiment"] == ["none", "Experiment 1: 10 classes"]
    assert rows["Write-up test accuracy"] == ["—", "98.27 %"]
    assert rows["Ours − write-up (test)"] == ["—", f"{(ours[1] - 0.9827) * 100:+.2f} pp"]


def test_match_is_explained_from_the_config():
    assert match_text(ExperimentConfig(classes=4, seed=2)).startswith("Experiment 2: 4 digit groups: same classes")
    assert "quick run on the first 100 training images" in match_text(ExperimentConfig(limit=100))
    assert match_text(ExperimentConfig(epochs=2)) == (
        "none: closest is Experiment 1: 10 classes, which differs in epochs (10 vs ours 2)"
    )


def test_runs_with_missing_pieces_still_appear(runs_copy: Path, tmp_path: Path, fast_tsne):
    runs = copy_runs(runs_copy, tmp_path)
    (runs / "tiny4" / "evaluation.json").unlink()
    (runs / "tiny4" / "predictions.npz").unlink()
    crashed = RunDir(runs / "crashed")
    crashed.path.mkdir()
    crashed.write_config(ExperimentConfig(), "cnnreport train --name crashed")
    crashed.write_status("failed", device="cpu", error="out of memory")
    html = build(runs)
    document = Document(html)
    assert {"run-1-crashed", "run-2-tiny10", "run-3-tiny4"} <= document.ids
    # What waits for `evaluate` is said once at the top and once in the run's part, not in a box per part.
    overview = html[html.index('id="overview"') : html.index('id="setup"')]
    assert "Parts of tiny4 wait for a command and are left out until it runs: <code>cnnreport evaluate" in overview
    assert "Not shown until you run <code>cnnreport evaluate tiny4</code>: Confusion matrix" in html
    assert "to make it)" not in html[html.index('id="run-3-tiny4"') :] and "run-3-tiny4-confusion" not in document.ids
    assert "run-3-tiny4-curves" in document.ids  # what the run has is shown
    assert "Training failed: out of memory" in html
    assert "metrics.json (no epoch was saved" in html
    assert all(f"run-1-crashed-{section}" in document.ids for section in SECTIONS)


def test_unknown_run_names_and_empty_runs_dirs_are_bad_input(runs_copy: Path, tmp_path: Path):
    result = invoke("report", "-o", tmp_path / "r.html", "--runs-dir", runs_copy, "tiny10", "nope")
    assert result.exit_code == 2 and "unknown run 'nope'" in result.output
    (tmp_path / "empty").mkdir()
    result = invoke("report", "-o", tmp_path / "r.html", "--runs-dir", tmp_path / "empty")
    assert result.exit_code == 2 and "holds no run directories" in result.output
    assert not (tmp_path / "r.html").exists()
    with pytest.raises(BadInput, match="--tsne-samples"):
        report.build_report([], tmp_path / "r.html", tsne_samples=1)


def test_named_runs_only_and_progress_on_stderr(runs_copy: Path):
    result = invoke(
        "report", "-o", runs_copy.parent / "one.html", "--runs-dir", runs_copy, "tiny4", "--tsne-samples", SAMPLES
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    size, said = (runs_copy.parent / "one.html").stat().st_size / 1e6, "".join(result.stderr.split("\n"))
    assert f"report written to {runs_copy.parent / 'one.html'} (1 run; {size:.1f} MB)" in said
    document = Document((runs_copy.parent / "one.html").read_text())
    assert "run-1-tiny4" in document.ids and not any("tiny10" in i for i in document.ids)
    assert select_names(runs_copy, ["tiny4", "tiny4"]) == ["tiny4"]


def select_names(runs_dir: Path, names: list[str]) -> list[str]:
    return [run.name for run in report.select_runs(runs_dir, names)]


def test_tsne_is_computed_once_and_reused(document: Document, runs_copy: Path, monkeypatch: pytest.MonkeyPatch):
    stamps = [(runs_copy / name / "tsne.npz").stat().st_mtime_ns for name in ("tiny10", "tiny4")]

    def refuse(*_args):
        raise AssertionError("t-SNE recomputed although a cached result with the same parameters exists")

    monkeypatch.setattr(tsne, "compute", refuse)
    html = build(runs_copy)
    assert [(runs_copy / name / "tsne.npz").stat().st_mtime_ns for name in ("tiny10", "tiny4")] == stamps
    assert html.count("read from the cache") == 2
    assert f"perplexity {(int(SAMPLES) - 1) / 3:g}, {SAMPLES} test images (stratified by class), seed 0" in html


def test_names_and_recorded_text_are_escaped(runs_copy: Path, tmp_path: Path, fast_tsne):
    runs = copy_runs(runs_copy, tmp_path)
    hostile = RunDir(runs / HOSTILE)
    shutil.copytree(runs / "tiny10", hostile.path)
    hostile.write_config(hostile.read_config(), "cnnreport train --name '<script>alert(1)</script>'")
    html = build(runs, HOSTILE)
    assert HOSTILE not in html and "<script>alert(1)" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_render_escapes_a_script_run_name():
    html = render.render([RunPart("<script>alert(1)</script>", "run-1", [], [], [])], Table("", [], []), [])
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script>") == 1  # the report's own


def test_analysis_sections_are_rendered_and_failures_become_notes(runs_copy, tmp_path, monkeypatch, document):
    from cnnreport.report.figures.curves import learning_curves

    row = {"epoch": 1, "train_loss": 1, "test_loss": 1, "train_accuracy": 0, "test_accuracy": 0}
    extra = Section(
        "extra", "Extra <analysis>", intro="why it matters", figures=[embed(learning_curves([row]), "extra alt")],
        tables=[Table("extra table", ["k", "v"], [["a", "1.5"]])], notes=["a note"],
    )  # fmt: skip

    def broken(_runs):
        raise RuntimeError("no seeds to compare")

    monkeypatch.setattr(catalog, "run_sections", lambda files: [extra])
    monkeypatch.setattr(catalog, "study_sections", broken)
    output = report.build_report([RunDir(runs_copy / "tiny4")], tmp_path / "r.html", tsne_samples=int(SAMPLES))
    html = output.read_text()
    assert 'id="run-1-tiny4-x-extra"' in html and "Extra &lt;analysis&gt;" in html
    assert "extra alt" in html and "a note" in html and '<td class="num">1.5</td>' in html
    assert "the analysis failed: RuntimeError: no seeds to compare" in html


def test_output_is_written_atomically_and_readable(runs_copy: Path, tmp_path: Path, document, fast_tsne):
    result = invoke("report", "-o", tmp_path / "absent" / "r.html", "--runs-dir", runs_copy, "--tsne-samples", SAMPLES)
    assert result.exit_code == 2 and "does not exist" in result.output
    output = report.build_report([RunDir(runs_copy / "tiny4")], tmp_path / "r.html", tsne_samples=int(SAMPLES))
    umask = os.umask(0)
    os.umask(umask)
    assert output.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temp file left behind


CELLS = [("4,470", True), ("98.27 %", True), ("+0.12 pp", True), ("0.2 s", True), ("2 min 05 s", True)]
CELLS += [("99.23 ± 0.03 % (n=3)", True), ("0.912 ± 0.004 (n=2)", True)]
CELLS += [("{0,6}", False), ("none", False), ("7 → 1", False), ("99.2 % ± spread", False)]


@pytest.mark.parametrize(("cell", "numeric"), CELLS)
def test_numbers_are_recognised_for_right_alignment(cell: str, numeric: bool):
    assert format.is_numeric(cell) is numeric


def test_a_column_aligns_right_when_all_its_values_are_numbers():
    rows = [["a", "4,470", "—", "+0.12 pp", "—", "yes"], ["b", "98.27 %", "0.5 s", "the write-up's", "n/a", "—"]]
    assert format.numeric_columns(rows) == {1, 2}  # not a mixed column, nor one of dashes only


def test_prose_keeps_hyphenated_words_whole_turns_backquotes_into_code_and_escapes():
    html = str(format.prose("one seed (reproduce --seeds 3); `cnnreport train --classes 4` <b>x-y</b>"))
    assert '(reproduce <span class="word">--seeds</span> 3)' in html
    assert '<code>cnnreport train <span class="word">--classes</span> 4</code>' in html
    assert '<span class="word">&lt;b&gt;x-y&lt;/b&gt;</span>' in html and "<b>" not in html
    too_long = "a" * format.LONGEST_WHOLE_WORD + "-b"  # would not fit a phone's line: may wrap
    assert str(format.prose(f"x {too_long}\ny")) == f"x {too_long}\ny"


def test_recorded_commands_show_as_typed_backquotes_included():
    command = "cnnreport train --name a`b`c"
    html = render.render([RunPart("r", "run-1", [["Recorded command", command]], [command], [])], Table("", [], []), [])
    assert html.count('<span class="word">--name</span> a`b`c') == 2  # the commands block and the facts
    assert "<code>b</code>" not in html


def test_anchors_are_unique_and_url_safe():
    assert report.anchor(HOSTILE, 3) == "run-3-img-src-x-onerror-alert-1"
    assert report.anchor("<<>>", 1) == "run-1"


def test_select_runs_refuses_missing_runs_dir(tmp_path: Path):
    with pytest.raises(BadInput, match="does not exist"):
        report.select_runs(tmp_path / "nowhere")
    with pytest.raises(RunError):
        report.select_runs(tmp_path, ["ghost"])


@pytest.mark.slow
def test_installed_wheel_carries_its_templates(runs_copy: Path, tmp_path: Path):
    """Build the wheel, install it apart from the checkout, and render a report with it."""
    import importlib.util
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    # Offline machines that have hatchling build without fetching it; others let build fetch it.
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-isolation"]
    builder = [sys.executable, "-m", "build", "--wheel", *isolation, "--outdir", tmp_path / "dist", root]
    subprocess.run(builder, check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("cnnreport-*.whl"))
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target, wheel]
    subprocess.run(pip, check=True, capture_output=True)
    script = (
        "import cnnreport, pathlib, sys; from cnnreport.report.build import build_report, select_runs;"
        "assert pathlib.Path(cnnreport.__file__).is_relative_to(pathlib.Path(sys.argv[1])), cnnreport.__file__;"
        "build_report(select_runs(pathlib.Path(sys.argv[2])), pathlib.Path(sys.argv[3]), tsne_samples=60)"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    args = [sys.executable, "-c", script, target, runs_copy, tmp_path / "wheel.html"]
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (target / "cnnreport" / "report" / "templates" / "report.html.j2").is_file()
    assert "run-1-tiny10-tsne" in (tmp_path / "wheel.html").read_text()


def test_runs_come_in_the_write_ups_order_whatever_their_names(runs_copy: Path, tmp_path: Path, fast_tsne):
    """Experiment 1, Experiment 2, Bonus 1, 2, 3 (shortened re-runs included), then the rest by name."""
    runs = tmp_path / "runs"
    configs = {
        "a-bonus3": ExperimentConfig(batch_norm=True, epochs=2),
        "b-other": ExperimentConfig(classes=4, augment=True, dropout=0.2, epochs=2),
        "c-bonus1": ExperimentConfig(augment=True, limit=3000, epochs=2),
        "d-exp2": ExperimentConfig(classes=4, epochs=2),
        "e-bonus2": ExperimentConfig(augment=True, dropout=0.3, epochs=2),
        "f-exp1-seed1": ExperimentConfig(seed=1, epochs=2),
        "g-fashion": ExperimentConfig(dataset="fashion-mnist", epochs=2),
        "y-tuned": TUNED.config.replace(epochs=2, limit=300),  # the tuned recipe, after the write-up's five
        "z-exp1": ExperimentConfig(epochs=2),
    }
    for name, config in configs.items():  # tiny10's results under other configs (its checkpoint would not fit)
        shutil.copytree(runs_copy / "tiny10", runs / name, ignore=shutil.ignore_patterns("checkpoint.pt"))
        RunDir(runs / name).write_config(config, f"cnnreport train --name {name}")
    expected = [
        "f-exp1-seed1",
        "z-exp1",
        "d-exp2",
        "c-bonus1",
        "e-bonus2",
        "a-bonus3",
        "y-tuned",
        "b-other",
        "g-fashion",
    ]
    assert [run.name for run in report.writeup_order(report.select_runs(runs))] == expected
    assert [run.name for run in report.writeup_order(report.select_runs(runs, reversed(configs)))] == expected
    shown = ["e-bonus2", "b-other", "z-exp1", "c-bonus1"]  # named in scheduling order, as reproduce finishes them
    document = Document(build(runs, *shown))
    anchors = [link[1:] for link in document.links if link.startswith("#run-") and link.count("-") <= 3]
    assert list(dict.fromkeys(anchors)) == ["run-1-z-exp1", "run-2-c-bonus1", "run-3-e-bonus2", "run-4-b-other"]


def test_sections_only_read_the_caches_build_filled(runs_copy: Path, tmp_path: Path, monkeypatch, document, fast_tsne):
    """A report writes the HTML and missing t-SNE caches, nothing else; the sections write nothing."""
    runs = copy_runs(runs_copy, tmp_path)
    (runs / "tiny4" / "tsne.npz").unlink()

    def snapshot() -> dict[str, tuple[int, int]]:
        files = (p for p in runs.rglob("*") if p.is_file())
        return {str(p.relative_to(runs)): (p.stat().st_mtime_ns, p.stat().st_size) for p in files}

    before = snapshot()
    build(runs)
    after = snapshot()
    assert set(after) - set(before) == {"tiny4/tsne.npz"}
    assert {k: v for k, v in after.items() if k in before} == before

    def refuse(*_args, **_kwargs):
        raise AssertionError("a section wrote into a run directory")

    from cnnreport.report import caches

    monkeypatch.setattr(RunDir, "write_arrays", refuse)
    monkeypatch.setattr(RunDir, "write_json", refuse)
    files = RunResults(RunDir(runs / "tiny10"))
    caches.fill(files, tsne.TsneParams(int(SAMPLES)))  # finds the cache: writes nothing
    assert files.tsne.cached
    assert all(s.missing is None for s in catalog.writeup_sections(files, lambda _title: None))


def test_parameter_note_says_what_makes_a_count_differ_from_the_write_ups():
    writeup = expected_params_note(ExperimentConfig(), 4470)
    assert writeup == "4,470 parameters matches the write-up's 4,470 for 10 classes."
    assert expected_params_note(ExperimentConfig(batch_norm=True), 4526).endswith(
        "differs from the write-up's 4,470 for 10 classes: batch norm adds 56."
    )
    assert expected_params_note(TUNED.config, 4942).endswith(
        "batch norm adds 68; channel widths 14, 8, 12 in place of 16, 8, 4."
    )
    four = expected_params_note(ExperimentConfig(classes=4), 4368)
    assert four.startswith("4,368 parameters matches the write-up's 4,368") and "by mistake" in four
    assert expected_params_note(ExperimentConfig(), 4471).endswith("differs from the write-up's 4,470 for 10 classes.")


def test_the_overview_and_its_banner_open_the_report(runs_copy: Path, tmp_path: Path, fast_tsne):
    html = build(copy_runs(runs_copy, tmp_path))
    order = Document(html).ids_in_order
    assert order.index("overview") < order.index("summary") < order.index("setup")
    opening = html[html.index("<main>") : html.index('id="setup"')]
    assert opening.index('class="banner"') < opening.index('id="overview"')
    text = " ".join(visible_text(opening).split())
    assert "Everything here is short: tiny10 (2 of the 10 epochs of Experiment 1: 10 classes)" in text
    assert "best is tiny10" in text and "Welch's two-sided t-test" in text


def test_the_library_refuses_a_report_into_a_run_folder(runs_copy: Path, tmp_path: Path):
    runs = report.select_runs(copy_runs(runs_copy, tmp_path))
    metrics = runs[0].path / "metrics.json"
    before = metrics.read_bytes()
    with pytest.raises(BadInput, match="a run's or sweep's folder"):
        report.build_report(runs, metrics)
    assert metrics.read_bytes() == before
