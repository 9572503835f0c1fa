"""Machine set-up: the allocator settings that keep training steps from page-faulting."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from cnnreport.system import keep_freed_memory

# Train a few hundred steps of batch 20 in a fresh interpreter, counting page faults.
STEPS_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    import torch
    import torch.nn.functional as F
    from cnnreport.config import ExperimentConfig
    from cnnreport.model import build_model
    from cnnreport.system import keep_freed_memory
    from cnnreport.train import make_optimizer

    if sys.argv[1] == "tuned":
        assert keep_freed_memory()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_model(ExperimentConfig()).to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, ExperimentConfig(), torch.device("cpu"))
    images = torch.randn(20, 1, 28, 28).contiguous(memory_format=torch.channels_last)  # as training feeds it
    labels = torch.randint(0, 10, (20,))

    def step():
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(20):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(200):
        step()
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 200)
    """
)


def faults_per_step(mode: str) -> float:
    result = subprocess.run([sys.executable, "-c", STEPS_SCRIPT, mode], capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_training_steps_reuse_freed_memory_instead_of_page_faulting() -> None:
    # Untuned, glibc hands freed activations back and each step faults them in again:
    # 100 to 950 page faults per step in this script, measured; tuned, next to none.
    assert faults_per_step("tuned") < 5


def test_keep_freed_memory_says_whether_it_applied() -> None:
    assert keep_freed_memory() is sys.platform.startswith("linux")
