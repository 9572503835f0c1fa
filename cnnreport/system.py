"""Facts about the machine: device choice, thread count, versions for the report."""

from __future__ import annotations

import os
import platform
from typing import Any

import torch

from cnnreport.errors import BadInput


def pick_device(name: str) -> torch.device:
    """auto -> cuda when available, else cpu; asking for cuda without one is bad input."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise BadInput("--device cuda asked for, but no CUDA device is available")
    if name not in ("cpu", "cuda"):
        raise BadInput(f"--device must be auto, cpu or cuda, not {name!r}")
    return torch.device(name)


def set_threads(threads: int | None) -> int:
    """Use `threads` intra-op threads for training (default: every core this process may use).

    Measured with benchmarks/train_speed.py on an idle 2-core CPU at batch 20: two threads
    train about 1.4x faster than one. Parallel runs (reproduce --jobs) split the cores instead.
    """
    count = threads or available_cores()
    torch.set_num_threads(count)
    return count


def available_cores() -> int:
    return len(os.sched_getaffinity(0))


def machine_facts() -> dict[str, Any]:
    """What a reader needs to judge timings: CPU, cores, GPU, library versions."""
    import matplotlib
    import sklearn
    import torchvision

    from cnnreport import __version__

    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "processor": _cpu_name(),
        "cores": os.cpu_count(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "versions": {
            "cnnreport": __version__,
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "scikit-learn": sklearn.__version__,
            "matplotlib": matplotlib.__version__,
        },
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
