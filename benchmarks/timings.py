"""Wall times a user sees, measured as a user runs them: the README quotes what this prints.

Each command runs as `python -m cnnreport ...` in a fresh process (interpreter start and
imports included) on a temporary runs dir:

1. `reproduce --quick` on an empty runs dir (trains, evaluates, inspects, renders);
2. the same command again, with every run finished (it only re-renders);
3. `report` on those five finished runs, t-SNE cached;
4. with --full, `reproduce` at the write-up's settings (75 epochs of 60,000 images: minutes).

    nice -n 10 python benchmarks/timings.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cnnreport.ml.data import default_data_dir
from cnnreport.system import available_cores, machine_facts


def timed(*args: str) -> str:
    """Wall and CPU seconds of one `python -m cnnreport` command; stop the benchmark if it fails.

    CPU time (user + system, worker processes included) is printed beside wall time because
    on a shared machine the wall time also measures everyone else's load.
    """
    command = [sys.executable, "-m", "cnnreport", *args]
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed (exit {done.returncode}):\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return f"{wall:6.1f} s wall, {cpu:6.1f} s CPU; load average now {os.getloadavg()[0]:.2f}"


def describe_machine() -> str:
    """CPU model, cores, versions and the load others put on it: timings mean nothing without them."""
    facts = machine_facts()
    versions = facts["versions"]
    return (
        f"{facts['processor']}, {facts['cores']} cores ({available_cores()} usable), "
        f"GPU: {facts['gpu'] or 'none'}, torch {versions['torch']}, Python {facts['python']}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--full", action="store_true", help="also time the full reproduce (minutes)")
    args = parser.parse_args()
    print(f"machine: {describe_machine()}")
    with tempfile.TemporaryDirectory() as folder:
        runs, data = str(Path(folder) / "runs"), str(args.data_dir.resolve())
        common = ["--data-dir", data, "--device", "cpu"]
        quick = ["reproduce", "--quick", "--runs-dir", runs, *common, "-o", str(Path(folder) / "quick.html")]
        print(f"reproduce --quick, empty runs dir:           {timed(*quick)}")
        print(f"reproduce --quick again, every run finished: {timed(*quick)}")
        report = ["report", "--runs-dir", runs, "-o", str(Path(folder) / "report.html")]
        print(f"report on the five finished quick runs:      {timed(*report)}")
        if args.full:
            full = ["reproduce", "--runs-dir", str(Path(folder) / "full"), *common, "-o", str(Path(folder) / "f.html")]
            print(f"reproduce (the write-up's settings):         {timed(*full)}")


if __name__ == "__main__":
    main()
