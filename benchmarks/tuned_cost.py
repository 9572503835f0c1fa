"""Does the tuned recipe train within Bonus 3's time? Both presets, side by side, in one run.

Trains one epoch of `--preset batchnorm` (Bonus 3: batch 20, 15 epochs) and one of
`--preset tuned` (batch 64, 15 epochs) on the same images and thread count, alternating
`--repeats` times, and prints the seconds per epoch and the ratio. Both presets train 15
epochs, so the ratio of an epoch is the ratio of a whole run.

    python benchmarks/tuned_cost.py --data-dir ../shared/data --images 20000 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def epoch_seconds(preset: str, runs_dir: Path, data_dir: Path, images: int, threads: int, name: str) -> float:
    """Wall seconds of the first epoch, read from the run's metrics (start-up excluded)."""
    import json

    command = [sys.executable, "-m", "cnnreport", "train", "--preset", preset, "--epochs", "1", "--limit", str(images)]
    command += ["--threads", str(threads), "--name", name, "--runs-dir", str(runs_dir), "--data-dir", str(data_dir)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics = json.loads((runs_dir / name / "metrics.json").read_text())
    return float(metrics["epochs"][0]["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("CNNREPORT_DATA_DIR", "data")))
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"batchnorm": [], "tuned": []}
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            for preset in times:
                name = f"{preset}-{repeat}"
                times[preset].append(
                    epoch_seconds(preset, Path(folder), args.data_dir, args.images, args.threads, name)
                )
    bonus3, tuned = (statistics.median(times[p]) for p in ("batchnorm", "tuned"))
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    print(f"{args.images} images, {args.threads} thread(s), median of {args.repeats}, {time.strftime('%Y-%m-%d')}")
    print(f"Bonus 3 (batchnorm): {bonus3:.2f} s an epoch   runs: {', '.join(f'{t:.2f}' for t in times['batchnorm'])}")
    print(f"tuned:               {tuned:.2f} s an epoch   runs: {', '.join(f'{t:.2f}' for t in times['tuned'])}")
    print(f"tuned / Bonus 3: {tuned / bonus3:.2f} (at most 1.00 is the target)")


if __name__ == "__main__":
    main()
