"""The write-up's reported accuracies beside ours, over every seed that was run."""

from __future__ import annotations

from cnnreport.analyses.seeds import Spread, group_by_experiment, mean_std
from cnnreport.analyses.significance import against_value
from cnnreport.errors import CnnReportError
from cnnreport.presets import PRESETS, matching_preset
from cnnreport.report.document import Section, Table
from cnnreport.report.format import RULE, percent, points, spread
from cnnreport.report.format import verdict as difference_verdict
from cnnreport.report.results import RunResults

SECTION_ID = "writeup"
TITLE = "The write-up's figures against ours"
NO_MATCH = "No run here re-runs one of the write-up's five experiments on full MNIST (see `cnnreport reproduce`)."
HEADER = ["Experiment", "Seeds", "Train acc. (running)", "Write-up", "Test acc.", "Write-up", "Difference", "Verdict"]


def last_epoch(files: RunResults, field: str) -> float:
    try:
        return float(files.metrics[-1][field])
    except (CnnReportError, IndexError, KeyError, TypeError):  # TypeError: null, a test set not yet scored
        return float("nan")  # an unfinished run counts as no value, mean_std drops it


def verdict(ours: Spread, reported: float) -> str:
    """Does our mean over seeds differ from the write-up's figure (a one-sample t-test over our seeds)?"""
    comparison = against_value(ours, reported)
    text = "ours " + difference_verdict(comparison)
    return text + " (reproduce --seeds 3)" if comparison.established is None else text


def writeup_section(runs: list[RunResults]) -> Section:
    """One row per write-up experiment re-run here: mean ± std over seeds, beside the write-up."""
    reader = {files.run: files for files in runs}
    matched = {}
    for experiment in group_by_experiment(reader):
        preset = matching_preset(experiment.config)
        if preset is not None:
            matched[preset.id] = (preset, experiment)
    rows = []
    for preset, experiment in (matched[key] for key in PRESETS if key in matched):  # the write-up's order
        train = mean_std([last_epoch(reader[run], "train_accuracy") for run in experiment.runs])
        test = mean_std([last_epoch(reader[run], "test_accuracy") for run in experiment.runs])
        reported = preset.reported_test_accuracy
        rows.append([
            preset.title, str(test.n), spread(train), percent(preset.reported_train_accuracy),
            spread(test), percent(reported), points(test.mean - reported), verdict(test, reported),
        ])  # fmt: skip
    if not rows:
        return Section(SECTION_ID, TITLE, notes=[NO_MATCH])
    intro = (
        "Each write-up experiment's last-epoch accuracies, as mean ± sample standard deviation over the seeds "
        "run here. The verdict says whether our test accuracy differs from the write-up's, by a one-sample t-test "
        "over our seeds (the write-up reports one number, with no spread). " + RULE
    )
    return Section(SECTION_ID, TITLE, intro=intro, tables=[Table("Reported versus re-run", HEADER, rows)])
