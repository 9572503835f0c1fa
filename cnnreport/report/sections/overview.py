"""The report's first screen: which experiment (or sweep cell) is best, by how much, and whether that is established.

"Best" is the highest mean test accuracy (evaluate's) over an experiment's seeds, among
experiments that can be compared: same dataset, same number of classes. The runner-up's
difference is judged by Welch's t-test over seeds (analyses.significance); with one seed on
a side the overview says plainly that no claim can be made.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cnnreport.analyses.seeds import Spread
from cnnreport.analyses.significance import welch
from cnnreport.config import dataset_title
from cnnreport.errors import CnnReportError
from cnnreport.report.document import RunPart, Section, Table
from cnnreport.report.format import RULE, spread, verdict
from cnnreport.report.results import RunResults, hint
from cnnreport.report.sections import sweep
from cnnreport.report.sections.measured import Measured, measured, run_names
from cnnreport.storage.sweeps import read_sweep

SECTION_ID = "overview"
TITLE = "Overview: the best result, and whether it is established"
HEADER = ["experiment", "task", "runs", "test accuracy", "against the best"]


def comparable(items: Sequence[Measured]) -> dict[str, list[Measured]]:
    """Experiments grouped by task (dataset and class count), each group best first."""
    groups: dict[str, list[Measured]] = {}
    for item in items:
        config = item.experiment.config
        groups.setdefault(f"{dataset_title(config.dataset)}, {config.classes} classes", []).append(item)
    return {task: sorted(group, key=lambda i: -accuracy(i).mean) for task, group in groups.items()}


def accuracy(item: Measured) -> Spread:
    return item.spread(lambda result: float(result["test_accuracy"]))


def best_sentence(task: str, ranked: list[Measured]) -> str:
    best = ranked[0]
    head = f"{task}: best is {best.label}, {spread(accuracy(best))}"
    if len(ranked) == 1:
        return f"{head}; the only experiment on this task, so nothing to compare it with."
    runner = ranked[1]
    lead = verdict(welch(accuracy(best), accuracy(runner)))
    return f"{head}; ahead of {runner.label} ({spread(accuracy(runner))}) by {lead}."


def ranking_rows(groups: dict[str, list[Measured]]) -> list[list[str]]:
    rows = []
    for task, ranked in groups.items():
        best = accuracy(ranked[0])
        for position, item in enumerate(ranked):
            against = "best" if position == 0 else verdict(welch(accuracy(item), best))
            rows.append([item.label, task, run_names(item), spread(accuracy(item)), against])
    return rows


def sweep_sentence(folder: Path) -> str | None:
    """The sweep's best cell against its runner-up; None for a sweep with no evaluated cell."""
    try:
        cells = read_sweep(folder)["cells"]
    except CnnReportError:
        return None  # the sweep's own section says what is wrong
    scored = [(cell["name"], sweep.cell_accuracy(folder, cell)[0]) for cell in cells]
    ranked = sorted(((name, value) for name, value in scored if value.n), key=lambda pair: -pair[1].mean)
    if not ranked:
        return None
    (name, best), *rest = ranked
    head = f"Sweep {folder.name}: best cell is {name}, {spread(best)}"
    if not rest:
        return f"{head}; no other cell is evaluated yet."
    other, value = rest[0]
    return f"{head}; ahead of {other} ({spread(value)}) by {verdict(welch(best, value))}."


def waiting_note(parts: Sequence[RunPart]) -> list[str]:
    """One sentence naming the runs whose parts wait for a command, and the commands to run."""
    waiting = [part for part in parts if part.waiting]
    if not waiting:
        return []
    commands = "; ".join(hint(command, part.name) for part in waiting for command in part.waiting)
    names = ", ".join(part.name for part in waiting)
    return [f"Parts of {names} wait for a command and are left out until it runs: {commands}."]


WAITING_COMMANDS = ("evaluate", "inspect")  # in the order to run them


def set_aside_waiting(name: str, sections: list[Section]) -> tuple[list[Section], list[str], list[str]]:
    """Leave out the sections that only wait for `evaluate` or `inspect` to run: the report says so once.

    Returns the sections kept, the titles left out and the commands they wait for.
    """
    kept, titles, commands = [], [], []
    for section in sections:
        needed = [command for command in WAITING_COMMANDS if hint(command, name) in (section.missing or "")]
        if needed:
            titles.append(section.title)
            commands += needed
        else:
            kept.append(section)
    return kept, titles, commands


def waiting_text(commands: list[str], titles: list[str], name: str) -> str:
    if not commands:
        return ""
    run = " then ".join(hint(command, name) for command in commands)
    return f"Not shown until you run {run}: {', '.join(titles)}."


def overview_section(runs: Sequence[RunResults], parts: Sequence[RunPart], sweeps: Sequence[Path]) -> Section:
    """The opening section: best per task and per sweep, its test, the ranking, and what waits for a command."""
    items, _ = measured(runs, "test_accuracy")
    groups = comparable(items)
    findings = [best_sentence(task, ranked) for task, ranked in groups.items()]
    findings += [text for folder in sweeps if (text := sweep_sentence(folder))]
    if not findings:
        findings = [f"No run here is evaluated yet, so there is no result to rank; run {hint('evaluate', 'NAME')}."]
    tables = [Table("Experiments ranked by mean test accuracy over seeds, per task", HEADER, ranking_rows(groups))]
    return Section(
        SECTION_ID,
        TITLE,
        intro=" ".join(findings),
        tables=tables if items else [],
        notes=[*waiting_note(parts), f"How differences are judged: {RULE}"],
    )
