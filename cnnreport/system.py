"""Facts about the machine: device choice, thread count, versions for the report.

torch is imported inside the functions that need it: the CLI's help and the report read
this module without loading torch.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnreport.errors import BadInput

if TYPE_CHECKING:
    import torch

# Shown name -> (distribution, import name) of the libraries whose versions the report states.
REPORTED_LIBRARIES = {
    "torch": ("torch", "torch"),
    "torchvision": ("torchvision", "torchvision"),
    "scikit-learn": ("scikit-learn", "sklearn"),
    "matplotlib": ("matplotlib", "matplotlib"),
}
VERSION_LINE = re.compile(r"""^__version__\s*=\s*['"]([^'"]+)['"]""", re.MULTILINE)


def pick_device(name: str) -> torch.device:
    """auto -> cuda when available, else cpu; asking for cuda without one is bad input."""
    import torch

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
    import torch

    count = threads or available_cores()
    torch.set_num_threads(count)
    return count


def available_cores() -> int:
    return len(os.sched_getaffinity(0))


def machine_facts() -> dict[str, Any]:
    """What a reader needs to judge timings: CPU, cores, GPU, library versions (without loading torch)."""
    from cnnreport import __version__

    versions = {"cnnreport": __version__}
    versions |= {shown: _installed_version(*names) for shown, names in REPORTED_LIBRARIES.items()}
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "processor": _cpu_name(),
        "cores": os.cpu_count(),
        "gpu": _gpu_name(),
        "python": platform.python_version(),
        "versions": versions,
    }


def _installed_version(distribution: str, module: str) -> str:
    """The version the library reports as its __version__, read from its version.py when it has one.

    Reading the file, not importing the library, keeps torch out of the report's process; the
    file also carries the build's local tag (2.14.1+cpu) that the package metadata may lack.
    """
    from importlib import metadata, util

    spec = util.find_spec(module)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        with contextlib.suppress(OSError):
            found = VERSION_LINE.search((Path(folder) / "version.py").read_text())
            if found:
                return found.group(1)
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _gpu_name() -> str | None:
    """The first CUDA device's name: from torch when it is loaded already, else from the NVIDIA driver."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return str(torch.cuda.get_device_name(0)) if torch.cuda.is_available() else None
    for info in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information")):
        try:
            for line in info.read_text().splitlines():
                if line.startswith("Model:"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            continue
    return None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
