"""Time to check and plan a sweep grid of exactly the run limit (MAX_RUNS), beside the 2 s goal.

A sweep counts its runs before planning any of them and refuses a grid above MAX_RUNS; one at
the limit must still be planned quickly: every cell's config built and checked, every run
folder named, and the sweep folder looked at (here an empty runs dir). It also times the
refusal of a grid a million times larger, which must not depend on that grid's size.

    python benchmarks/grid_planning.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout first

from cnnreport.errors import BadInput  # noqa: E402
from cnnreport.jobs.grid import MAX_RUNS  # noqa: E402
from cnnreport.jobs.sweep import build_spec, plan  # noqa: E402

GOAL_SECONDS = 2.0


def values(start: float, step: float, count: int) -> str:
    return ",".join(f"{start + step * i:.6g}" for i in range(count))


# 100 learning rates x 10 dropouts x 10 batch sizes = 10,000 runs with one seed: the limit exactly.
AT_LIMIT = [f"lr={values(0.0001, 0.0001, 100)}", f"dropout={values(0.0, 0.05, 10)}", f"batch-size={values(8, 8, 10)}"]
# 100 values of each of six options: 10**12 runs, the grid that once ran out of memory.
FAR_OVER = [
    *AT_LIMIT[:1], f"dropout={values(0.0, 0.005, 100)}", f"batch-size={values(1, 1, 100)}",
    f"epochs={values(1, 1, 100)}", f"limit={values(100, 100, 100)}", f"validation={values(0, 1, 100)}",
]  # fmt: skip


def plan_at_limit(runs_dir: Path) -> float:
    start = time.perf_counter()
    planned = plan(build_spec(None, AT_LIMIT, name="limit"), runs_dir)
    seconds = time.perf_counter() - start
    assert len(planned.jobs) == MAX_RUNS, len(planned.jobs)
    return seconds


def refuse_far_over() -> float:
    start = time.perf_counter()
    try:
        build_spec(None, FAR_OVER, name="over")
    except BadInput:
        return time.perf_counter() - start
    raise AssertionError("a grid of 10**12 runs was accepted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as folder:
        planning = [plan_at_limit(Path(folder)) for _ in range(repeat)]
    refusing = [refuse_far_over() for _ in range(repeat)]
    for label, times in ((f"plan {MAX_RUNS:,} runs", planning), ("refuse 10**12 runs", refusing)):
        best, median = min(times), statistics.median(times)
        ratio = median / GOAL_SECONDS  # under 1: within the goal
        print(
            f"{label:<20} median {median:7.3f} s  fastest {best:7.3f} s  ratio to {GOAL_SECONDS:g} s goal {ratio:.2f}"
        )


if __name__ == "__main__":
    main()
