"""Collect run directories into one self-contained HTML report (never trains).

Flow: pick the runs -> build each run's Sections (figures embedded as data URIs) ->
render templates/report.html.j2 with autoescaping -> write the file atomically.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import jinja2

from cnnreport import report_sections, report_summary
from cnnreport.errors import BadInput
from cnnreport.report_sections import RunFiles
from cnnreport.runs import RunDir, atomic_write, list_runs, resolve_run
from cnnreport.sections import Section, Table
from cnnreport.tsne import DEFAULT_SAMPLES, TsneParams, check_samples

TEMPLATE = "report.html.j2"
CHECKOUT_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
Step = Callable[[str], None]


@dataclass
class RunPart:
    """Everything the template shows for one run."""

    name: str
    anchor: str
    facts: list[list[str]]
    commands: list[str]
    sections: list[Section]
    analyses: list[Section] = field(default_factory=list)
    warning: str = ""  # training that did not end normally


def select_runs(runs_dir: Path, names: Iterable[str] = ()) -> list[RunDir]:
    """The named runs (by name in runs_dir, or by path), or every run in runs_dir."""
    names = list(dict.fromkeys(names))  # a run named twice is shown once
    if names:
        return [resolve_run(name, runs_dir) for name in names]
    runs = list_runs(runs_dir)
    if not runs:
        where = "does not exist" if not runs_dir.is_dir() else "holds no run directories"
        raise BadInput(f"runs dir {runs_dir} {where}; train a run first (cnnreport train) or pass --runs-dir")
    return runs


def build_report(
    runs: list[RunDir],
    output: Path,
    on_step: Step | None = None,
    tsne_samples: int = DEFAULT_SAMPLES,
    ready: Mapping[str, RunPart] | None = None,
    sweeps: Sequence[Path] = (),
) -> Path:
    """Render the runs into one HTML file at `output` and return its path.

    `ready` holds parts already rendered elsewhere (reproduce renders each run's part in
    the worker that trained it, while other runs still train); the rest are rendered here.
    """
    step = on_step or (lambda _message: None)
    check_samples(tsne_samples)  # bad input is refused before any work
    if not output.parent.is_dir():
        raise BadInput(f"cannot write {output}: folder {output.parent} does not exist")
    files = [RunFiles(run) for run in runs]
    parts = []
    for position, run_files in enumerate(files, 1):
        name = run_files.run.name
        announce = _announcer(step, f"[{position}/{len(runs)}] {name}")
        part = (ready or {}).get(name) or run_part(run_files, TsneParams(tsne_samples), announce)
        parts.append(replace(part, anchor=anchor(name, position)))
    step("comparing runs")
    studies = guarded_analysis("study", "Analyses across runs", lambda: _study_sections(runs))
    studies += [section for folder in sweeps for section in _sweep_sections(folder)]
    step("rendering the document")
    html = render(parts, report_summary.summary_table(files), studies)
    atomic_write(output, lambda handle: handle.write(html.encode("utf-8")))
    _make_shareable(output)
    return output


def _announcer(step: Step, prefix: str) -> Step:
    return lambda title: step(f"{prefix}: {title}")


def _make_shareable(path: Path) -> None:
    """atomic_write's temp file is private (0600); a report is meant to be read by others."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o666 & ~umask)


def run_part(files: RunFiles, tsne: TsneParams, announce: Step) -> RunPart:
    """One run's facts, the write-up's sections and the analyses beyond it (anchor set later)."""
    announce("reading")
    sections = report_sections.run_sections(files, tsne, announce)
    files.release_arrays()  # only the summary's small files stay in memory across runs
    announce("analyses")
    analyses = guarded_analysis("analyses", "Analyses beyond the write-up", lambda: _run_sections(files.run))
    facts, commands = report_summary.run_facts(files), report_summary.commands_for(files)
    warning = report_summary.status_warning(files)
    return RunPart(files.run.name, "", facts, commands, sections, analyses, warning)


def anchor(name: str, position: int) -> str:
    """A unique, URL-safe id for a run, whatever characters its name holds."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
    return f"run-{position}-{slug}" if slug else f"run-{position}"


def guarded_analysis(section_id: str, title: str, produce: Callable[[], list[Section]]) -> list[Section]:
    """Sections from the analyses beyond the write-up; a failure shows as a 'missing' note."""
    try:
        sections = list(produce())
    except Exception as exc:  # noqa: BLE001 - an analysis bug must not cost the reader the report
        return [Section(section_id, title, missing=f"the analysis failed: {type(exc).__name__}: {exc}")]
    bad = [s for s in sections if not isinstance(s, Section)]
    if bad:
        return [Section(section_id, title, missing=f"the analysis returned {type(bad[0]).__name__}, not Section")]
    return sections


def _run_sections(run: RunDir) -> list[Section]:
    from cnnreport.analysis.sections import run_sections

    return run_sections(run)


def _study_sections(runs: list[RunDir]) -> list[Section]:
    from cnnreport.analysis.sections import study_sections

    return study_sections(runs)


def _sweep_sections(folder: Path) -> list[Section]:
    """A sweep's comparison of its cells (its runs have no parts of their own unless named)."""
    from cnnreport.analysis.sections_sweep import sweep_section

    return guarded_analysis(f"sweep-{anchor(folder.name, 0)}", f"Sweep {folder.name}", lambda: [sweep_section(folder)])


def template_environment() -> jinja2.Environment:
    """Templates from the installed package first, then from the checkout's templates/ folder."""
    loaders: list[jinja2.BaseLoader] = []
    with contextlib.suppress(ValueError):  # a checkout or editable install: no templates in the package
        loaders.append(jinja2.PackageLoader("cnnreport", "templates"))
    if CHECKOUT_TEMPLATES.is_dir():
        loaders.append(jinja2.FileSystemLoader(CHECKOUT_TEMPLATES))
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders), autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True
    )
    environment.tests["numeric"] = is_numeric
    return environment


NUMBER = re.compile(r"^[−+-]?[\d,]*\.?\d+\s*(%|pp|s|MB)?$|^\d+ min \d+ s$")


def is_numeric(text: object) -> bool:
    """Whether a table cell is a number, so the template aligns it right."""
    return bool(NUMBER.match(str(text).strip()))


def render(parts: list[RunPart], summary: Table, studies: list[Section]) -> str:
    """The whole document as one string."""
    machine, versions = report_summary.environment_rows()
    return (
        template_environment()
        .get_template(TEMPLATE)
        .render(
            generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            machine=machine,
            versions=versions,
            summary=summary,
            studies=studies,
            runs=parts,
        )
    )
