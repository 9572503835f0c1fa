"""Collect run directories into one self-contained HTML report (never trains).

Flow, one way: select the runs and put them in the write-up's order -> fill the caches
(each run's t-SNE) -> build every Section from what the run folders hold (builders only
read) -> render the templates -> write the file atomically.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from cnnreport.analyses.tsne import DEFAULT_SAMPLES, TsneParams, check_samples
from cnnreport.errors import BadInput, CnnReportError
from cnnreport.presets import OTHER_RANK, writeup_rank
from cnnreport.report import caches
from cnnreport.report.document import RunPart, Section
from cnnreport.report.explore import curves_data, run_data
from cnnreport.report.render import Opening, render
from cnnreport.report.results import RunResults
from cnnreport.report.sections import catalog, guarded, overview, sweep
from cnnreport.report.sections.banners import banners
from cnnreport.report.sections.summary import commands_for, run_facts, status_warning, summary_table
from cnnreport.storage.atomic import atomic_write
from cnnreport.storage.folders import holds_file
from cnnreport.storage.outputs import check_report_output
from cnnreport.storage.peek import plain_fields
from cnnreport.storage.rundir import RunDir, list_runs, resolve_run
from cnnreport.storage.sweeps import SWEEP_FILE, find_sweeps, read_sweep

Step = Callable[[str], None]


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


def select_contents(runs_dir: Path, names: Sequence[str] = ()) -> tuple[list[RunDir], list[Path]]:
    """What `report NAME...` shows: the named runs and sweeps (a sweep by its folder's name or path).

    Named sweeps are the only sweeps shown; with no sweep named, every sweep in runs_dir is.
    With nothing named: every run in runs_dir, or none when it holds only sweeps.
    """
    found = {name: sweep_folder(runs_dir, name) for name in names}
    sweeps = list(dict.fromkeys(folder for folder in found.values() if folder)) or find_sweeps(runs_dir)
    run_names = [name for name, folder in found.items() if folder is None]
    if run_names or (not names and (not sweeps or list_runs(runs_dir))):
        return select_runs(runs_dir, run_names), sweeps
    return [], sweeps  # only sweeps: their runs appear in their sections


def sweep_folder(runs_dir: Path, name: str) -> Path | None:
    """The sweep folder `name` means (inside runs_dir, or as a path), if it is one."""
    for folder in (runs_dir / name, Path(name)):
        if holds_file(folder, SWEEP_FILE):  # None, unreadable: resolve_run then says so
            return folder
    return None


def writeup_order(runs: Iterable[RunDir]) -> list[RunDir]:
    """Experiment 1, Experiment 2, Bonus 1, 2, 3 (each by run name), then every other run by name."""

    def rank(run: RunDir) -> tuple[int, str]:
        try:
            return writeup_rank(run.read_config()), run.name
        except CnnReportError:  # an unreadable config: shown with the others, its sections say why
            return OTHER_RANK, run.name

    return sorted(runs, key=rank)


def build_report(
    runs: list[RunDir],
    output: Path,
    on_step: Step | None = None,
    tsne_samples: int = DEFAULT_SAMPLES,
    ready: Mapping[str, RunPart] | None = None,
    sweeps: Sequence[Path] = (),
) -> Path:
    """Render the runs into one HTML file at `output`, in the write-up's order, and return its path.

    `ready` holds parts already rendered elsewhere (reproduce renders each run's part in
    the worker that trained it, while other runs still train); the rest are rendered here.
    """
    step = on_step or (lambda _message: None)
    check_samples(tsne_samples)  # bad input is refused before any work
    check_report_output(output)  # the library's own guard too: never into a run's or a sweep's folder
    for run in runs:
        check_run(run)
    for folder in sweeps:  # a hand-edited sweep.json is refused as a run's files are
        read_sweep(folder)
    ordered = writeup_order(runs)
    everything = [RunResults(run) for run in ordered]
    parts: list[RunPart] = []
    for position, files in enumerate(everything, 1):
        name = files.run.name
        announce = _announcer(step, f"[{position}/{len(ordered)}] {name}")
        part = (ready or {}).get(name) or run_part(files, TsneParams(tsne_samples), announce)
        parts.append(replace(part, anchor=anchor(name, position)))
    step("comparing runs")
    # With only sweeps named, their runs fill the summary table; the sweep sections (and the
    # overview's line per sweep) compare them, so the studies across runs are left out.
    swept = {folder.name: [RunResults(run) for run in sweep.sweep_runs(folder)] for folder in sweeps}
    summarised = everything or [files for members in swept.values() for files in members]
    studies = guarded("study", "Analyses across runs", lambda: catalog.study_sections(everything)) if runs else []
    for folder in sweeps:  # a sweep's runs have no parts of their own unless named
        studies += guarded(
            sweep.section_id(folder), f"Sweep {folder.name}", functools.partial(sweep.sweep_section, folder)
        )
    step("rendering the document")
    opening = Opening(
        guarded(overview.SECTION_ID, overview.TITLE, lambda: overview.overview_section(everything, parts, sweeps))[0],
        banners(everything, swept),
        [folder.name for folder in sweeps],
    )
    curves = curves_data(everything, {part.name: part.anchor for part in parts})
    html = render(parts, summary_table(summarised), studies, opening, curves)
    atomic_write(output, lambda handle: handle.write(html.encode("utf-8")))
    return output


def check_run(run: RunDir) -> None:
    """Refuse, before any work, a run whose JSON files are not cnnreport's or whose checkpoint
    belongs to another config. Missing files are fine: the sections say what to run.

    The checkpoint's config is read without torch (storage.peek); one that cannot be read so
    is left alone, since the report never loads it.
    """
    config = run.read_config()  # first: in a folder we may not read, it says so in one line
    for path in (run.status_file, run.metrics_file, run.evaluation_file, run.anatomy_file):
        if path.exists():
            run.read_json(path)
    if not run.checkpoint_file.exists():
        return
    state = plain_fields(run.checkpoint_file)
    if state is not None and state.get("config") != config.to_dict():
        run.check_checkpoint(state)


def _announcer(step: Step, prefix: str) -> Step:
    return lambda title: step(f"{prefix}: {title}")


def run_part(files: RunResults, tsne: TsneParams, announce: Step) -> RunPart:
    """One run's facts, the write-up's sections and the analyses beyond it (anchor set later).

    Its cache (the t-SNE) is filled first; the sections after it only read.
    """
    announce("reading")
    caches.fill(files, tsne)
    sections = catalog.writeup_sections(files, announce)
    announce("analyses")
    analyses: list[Section] = guarded("analyses", "Analyses beyond the write-up", lambda: catalog.run_sections(files))
    explore = guarded_data(lambda: run_data(files))
    files.release_arrays()  # only the summary's small files stay in memory across runs
    name = files.run.name
    sections, titles, waiting = overview.set_aside_waiting(name, sections)
    analyses, more_titles, more = overview.set_aside_waiting(name, analyses)
    commands = [command for command in overview.WAITING_COMMANDS if command in waiting + more]
    waiting_text = overview.waiting_text(commands, titles + more_titles, name)
    warning = " ".join(filter(None, [status_warning(files), waiting_text]))
    return RunPart(name, "", run_facts(files), commands_for(files), sections, analyses, warning, commands, explore)


def guarded_data(build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The explorers' data, or none: a failure costs the interaction only, the static figures stay."""
    try:
        return build()
    except Exception:  # noqa: BLE001 - the sections above already report what is wrong with the files
        return {}


def anchor(name: str, position: int) -> str:
    """A unique, URL-safe id for a run, whatever characters its name holds."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
    return f"run-{position}-{slug}" if slug else f"run-{position}"
