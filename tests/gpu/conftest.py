"""GPU tests: marked `gpu`, skipped where torch sees no CUDA device."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from cnnreport.ml.data import find_idx_file
from tests.idx_files import write_dataset

needs_cuda = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.fixture(scope="session")
def gpu_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real MNIST when CNNREPORT_DATA_DIR holds it, else a synthetic set large enough to time."""
    real = Path(os.environ.get("CNNREPORT_DATA_DIR", "data"))
    if find_idx_file(real, "mnist", "train-images-idx3-ubyte") is not None:
        return real
    return write_dataset(tmp_path_factory.mktemp("gpu-idx"), train=6000, test=1000)
