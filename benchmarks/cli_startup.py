"""Wall time of `cnnreport --help` and `cnnreport COMMAND --help`, beside the time to import torch.

The CLI imports its library code only when a command runs, so help never loads torch; the
goal is under 0.5 s on a warm 2-core machine. Each line is the median of --repeat fresh
processes, run from this checkout (it goes first on PYTHONPATH).

    python benchmarks/cli_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ("train", "evaluate", "inspect", "reproduce", "report")
GOAL_SECONDS = 0.5


def wall_time(argv: list[str], repeat: int) -> tuple[float, float]:
    """Median and fastest seconds of `repeat` runs of argv, each in a fresh process.

    On a shared machine the fastest run is the best estimate of a quiet one; both are shown.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    script = Path(sys.executable).parent / "cnnreport"
    cli = [str(script)] if script.exists() else [shutil.which("cnnreport") or sys.executable, "-m", "cnnreport"]
    wall_time([*cli, "--help"], 1)  # warm the file cache first
    torch_import, torch_fastest = wall_time([sys.executable, "-c", "import torch"], repeat)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; median / fastest of {repeat} runs")
    print(f"{'command':<36} {'median s':>9} {'fastest s':>10} {'vs import torch':>16}  goal < {GOAL_SECONDS} s")
    reference = "python -c 'import torch'"
    print(f"{reference:<36} {torch_import:>9.3f} {torch_fastest:>10.3f} {1.0:>15.2f}x")
    # The floor: what Typer itself costs (a command's help also builds its pydantic adapters).
    floor = "python -c 'import typer._adapters'"
    typer_only, typer_fastest = wall_time([sys.executable, "-c", "import typer, typer._adapters"], repeat)
    print(f"{floor:<36} {typer_only:>9.3f} {typer_fastest:>10.3f} {typer_only / torch_import:>15.2f}x")
    for args in (["--help"], *([command, "--help"] for command in COMMANDS)):
        seconds, fastest = wall_time([*cli, *args], repeat)
        verdict = "ok" if seconds < GOAL_SECONDS else "over"
        ratio = seconds / torch_import
        print(f"{'cnnreport ' + ' '.join(args):<36} {seconds:>9.3f} {fastest:>10.3f} {ratio:>15.2f}x  {verdict}")


if __name__ == "__main__":
    main()
