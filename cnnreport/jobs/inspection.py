"""Inspect a trained run: the architecture table and one test image's layer outputs, saved in the run dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnreport.analyses.anatomy import activation_maps, architecture, layer_outputs
from cnnreport.errors import BadInput
from cnnreport.ml.data import load_split, to_unit_float
from cnnreport.ml.model import load_model
from cnnreport.storage.rundir import RunDir


def inspect_run(run: RunDir, data_dir: Path, index: int = 0, dataset: str | None = None) -> dict[str, Any]:
    """Save the architecture table and one test image's layer outputs and activation maps."""
    model, config, state = load_model(run, "cpu")
    test = load_split(data_dir, dataset or config.dataset, "test")
    if not 0 <= index < len(test):
        raise BadInput(f"--index must be in 0..{len(test) - 1}, not {index}")
    image = to_unit_float(test.images[index : index + 1])[0]
    mean, std = (float(v) for v in state["normalization"])
    outputs = layer_outputs(model, (image - mean) / std)
    maps = activation_maps(outputs)
    summary = architecture(model) | {"run": run.name, "index": index, "label": int(test.labels[index])}
    run.write_json(run.anatomy_file, summary)
    run.write_arrays(
        run.layer_outputs_file,
        input=image[0].numpy(),
        **{f"output:{name}": out for name, out in outputs.items()},
        **{f"activation:{name}": m for name, m in maps.items()},
    )
    return summary
