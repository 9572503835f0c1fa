"""Facts about the machine: device choice, thread count, versions for the report."""

from __future__ import annotations

import ctypes
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


# glibc's mallopt parameters (malloc.h) and the values we give them.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
HEAP_TENSOR_LIMIT = 32 * 1024**2  # glibc's largest allowed mmap threshold on 64-bit systems
TRIM_THRESHOLD = 256 * 1024**2


def keep_freed_memory() -> bool:
    """Let glibc keep freed tensor memory for reuse instead of handing it back to the kernel.

    By default, glibc returns the top of the heap to the kernel once a few megabytes there
    are free, and maps some tensors in fresh; the next step's activations then page-fault
    their memory in again: about 900 page faults per training step of batch 20, which cost
    almost half the step (2.0 instead of 3.9 ms, measured on a 2-core VM). Fixed thresholds
    (tensors under 32 MB come from the heap, and up to 256 MB of free heap are kept) remove
    them. This is what PyTorch's CPU tuning guide gets from tcmalloc or jemalloc, with no
    library to install. A no-op, returning False, where the C library has no mallopt.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, HEAP_TENSOR_LIMIT)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


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
