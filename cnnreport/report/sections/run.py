"""One run's part of the report, in the write-up's order, as generic Sections.

Each section reads only the files it needs (through RunFiles), so a run without an
evaluation still shows its architecture and learning curves; a section whose files are
missing says which ones and which command makes them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np

from cnnreport import figures, image_figures
from cnnreport.analysis.calibration import softmax
from cnnreport.config import ExperimentConfig
from cnnreport.data import class_names
from cnnreport.runs import RunDir
from cnnreport.sections import Section, Table, embed
from cnnreport.tsne import METHOD, TsneParams, load_or_compute

LAYER_KINDS = ("Conv2d", "MaxPool2d", "AvgPool2d")  # the layers whose channels are shown
MAKES = {  # which command writes each file, for the "missing" notes
    "config.json": "train", "metrics.json": "train", "run.json": "train",
    "evaluation.json": "evaluate", "predictions.npz": "evaluate",
    "anatomy.json": "inspect", "layer_outputs.npz": "inspect",
}  # fmt: skip


class RunFiles:
    """Lazy reads of one run's files; each raises RunError naming the file when it is absent."""

    def __init__(self, run: RunDir) -> None:
        self.run = run

    @cached_property
    def config(self) -> ExperimentConfig:
        return self.run.read_config()

    @cached_property
    def metrics(self) -> list[dict[str, Any]]:
        return self.run.read_metrics()

    @cached_property
    def evaluation(self) -> dict[str, Any]:
        return self.run.read_json(self.run.evaluation_file)

    @cached_property
    def anatomy(self) -> dict[str, Any]:
        return self.run.read_json(self.run.anatomy_file)

    @cached_property
    def predictions(self) -> dict[str, np.ndarray]:
        return self.run.read_arrays(self.run.predictions_file)

    @cached_property
    def layers(self) -> dict[str, np.ndarray]:
        return self.run.read_arrays(self.run.layer_outputs_file)

    @cached_property
    def names(self) -> list[str]:
        return class_names(self.config.dataset, self.config.classes)

    def release_arrays(self) -> None:
        """Forget the large arrays once the run's figures are drawn (they are read again on demand)."""
        for name in ("predictions", "layers"):
            self.__dict__.pop(name, None)


def missing_note(run: RunDir, exc: Exception) -> str:
    """What is absent and which command makes it; other failures as their message."""
    text = str(exc).replace(f"{run.path}/", "")
    file = text.removesuffix(": missing")
    if file == text or file not in MAKES:
        return text
    command = MAKES[file]
    if command == "train":
        return f"{file} (no epoch was saved; re-run its training command with --resume)"
    if not run.checkpoint_file.exists() and not run.checkpoint_file.exists():
        return f"{file} (the run has no checkpoint, so it cannot be evaluated or inspected; train it first)"
    return f"{file} (run `cnnreport {command} {run.name}` to make it)"


def guarded(files: RunFiles, section_id: str, title: str, build: Callable[[RunFiles], Section]) -> Section:
    """Build a section; any failure becomes a 'missing' note so the rest of the report survives."""
    try:
        return build(files)
    except Exception as exc:  # noqa: BLE001 - one bad file must not sink the whole report
        return Section(section_id, title, missing=missing_note(files.run, exc))


def run_sections(files: RunFiles, tsne: TsneParams, announce: Callable[[str], None]) -> list[Section]:
    """The write-up's per-experiment parts, in its order."""
    builders: list[tuple[str, str, Callable[[RunFiles], Section]]] = [
        ("architecture", "Architecture", architecture),
        ("curves", "Learning curves", curves),
        ("confusion", "Confusion matrix", confusion),
        ("per-class", "Per-class precision, recall and F1", per_class),
        ("errors", "Error gallery", gallery),
        ("layers", "Layer outputs", layer_outputs),
        ("activations", "Activation maps", activations),
        ("tsne", "t-SNE of the learned features", lambda f: tsne_section(f, tsne)),
    ]
    sections = []
    for section_id, title, build in builders:
        announce(title)
        sections.append(guarded(files, section_id, title, build))
    return sections


def architecture(files: RunFiles) -> Section:
    summary = files.anatomy
    layers = Table(
        "Layers (torchinfo)",
        ["Layer (type)", "Output shape", "Param #"],
        [[layer["name"], str(layer["output_shape"]), f"{layer['params']:,}"] for layer in summary["layers"]]
        + [[label, "", f"{summary[key]:,}"] for label, key in _COUNT_ROWS],
    )
    sizes = summary["sizes_mb"]
    size_rows = [[label, f"{sizes[key]:.2f}"] for label, key in _SIZE_ROWS]
    notes = [f"{summary['mult_adds']:,} multiply-adds per image."]
    notes += [expected_params_note(files.config.classes, summary["params_total"])]
    return Section(
        "architecture", "Architecture", tables=[layers, Table("Estimated sizes", ["", "MB"], size_rows)], notes=notes
    )


_COUNT_ROWS = (
    ("Total params", "params_total"),
    ("Trainable", "params_trainable"),
    ("Non-trainable", "params_non_trainable"),
)
_SIZE_ROWS = (
    ("Input size", "input"),
    ("Forward/backward pass size", "forward_backward"),
    ("Params size", "params"),
    ("Estimated total size", "total"),
)


def expected_params_note(classes: int, total: int) -> str:
    """Compare with the write-up's count, including its known slip for 4 classes."""
    expected = 4470 if classes == 10 else 4368
    verdict = "matches" if total == expected else "differs from"
    slip = " (the write-up restated 4,470 for this network by mistake)" if classes == 4 else ""
    return f"{total:,} parameters {verdict} the write-up's {expected:,} for {classes} classes{slip}."


def curves(files: RunFiles) -> Section:
    epochs = files.metrics
    last = epochs[-1]
    figure = figures.learning_curves(epochs)
    alt = (
        f"Loss and accuracy over {len(epochs)} epochs; final train loss {last['train_loss']:.3f}, "
        f"test loss {last['test_loss']:.3f}, test accuracy {last['test_accuracy']:.2%}."
    )
    caption = "Train values are running averages while training (augmentation and dropout on); test is clean."
    return Section("curves", "Learning curves", figures=[embed(figure, alt, caption)])


def confusion(files: RunFiles) -> Section:
    predictions, names = files.predictions, files.names
    figure, matrix = figures.confusion_figure(predictions["labels"], predictions["logits"].argmax(1), names)
    alt = f"Confusion matrix over {int(matrix.sum()):,} test images for classes {', '.join(names)}."
    pairs = [[f"{p['true']} → {p['predicted']}", f"{p['count']:,}"] for p in files.evaluation["most_confused"]]
    tables = [Table("Most confused pairs", ["True → predicted", "Count"], pairs)] if pairs else []
    notes = [] if pairs else ["No test image was misclassified."]
    caption = "Each cell: count and share of its row (the true class)."
    return Section("confusion", "Confusion matrix", figures=[embed(figure, alt, caption)], tables=tables, notes=notes)


def per_class(files: RunFiles) -> Section:
    rows = [
        [r["class"], f"{r['precision']:.4f}", f"{r['recall']:.4f}", f"{r['f1']:.4f}", f"{r['support']:,}"]
        for r in files.evaluation["per_class"]
    ]
    means = [np.mean([r[k] for r in files.evaluation["per_class"]]) for k in ("precision", "recall", "f1")]
    rows.append(["macro average", *(f"{m:.4f}" for m in means), ""])
    table = Table("Test set, per class", ["Class", "Precision", "Recall", "F1", "Support"], rows)
    return Section("per-class", "Per-class precision, recall and F1", tables=[table])


def gallery(files: RunFiles) -> Section:
    predictions, names = files.predictions, files.names
    indices = predictions["gallery_indices"]
    if len(indices) == 0:
        return Section("errors", "Error gallery", notes=["No test image was misclassified."])
    probabilities = softmax(predictions["logits"][indices].astype(np.float64))
    items = [
        image_figures.GalleryItem(image, _true_label(names, predictions, i), names[int(p.argmax())], float(p.max()))
        for image, i, p in zip(predictions["gallery_images"], indices, probabilities, strict=True)
    ]
    listing = "; ".join(f"{item.true} as {item.predicted} ({item.confidence:.0%})" for item in items)
    alt = f"{len(items)} misclassified test images, worst first: {listing}."
    caption = "Misclassified test images, highest loss first: true class, predicted class and its probability."
    return Section("errors", "Error gallery", figures=[embed(image_figures.gallery_figure(items), alt, caption)])


def _true_label(names: list[str], predictions: dict[str, np.ndarray], index: int) -> str:
    """The true class; for grouped classes also the digit, since '{2,3,5,8}' alone hides it."""
    name = names[int(predictions["labels"][index])]
    digit = str(int(predictions["digits"][index]))
    return name if name == digit else f"{digit} {name}"


def layer_outputs(files: RunFiles) -> Section:
    arrays, anatomy = files.layers, files.anatomy
    title = f"test image {anatomy['index']} (label {anatomy['label']})"
    shown = [embed(image_figures.input_figure(arrays["input"], title), f"Input: {title}.")]
    for key, output in arrays.items():
        name = key.removeprefix("output:")
        if key.startswith("output:") and name.startswith(LAYER_KINDS):
            alt = f"All {output.shape[0]} channels of {name}'s output {list(output.shape)} for {title}."
            shown.append(embed(image_figures.channel_grid(name, output), alt))
        elif key.startswith("output:Linear"):
            alt = f"{name}: class probabilities for {title}."
            shown.append(embed(image_figures.class_scores_figure(name, output, files.names), alt))
    intro = f"What each conv and pooling layer makes of {title}; every channel, each on its own colour scale."
    return Section("layers", "Layer outputs", intro=intro, figures=shown)


def activations(files: RunFiles) -> Section:
    arrays = files.layers
    maps = {key.removeprefix("activation:"): a for key, a in arrays.items() if key.startswith("activation:")}
    alt = f"The input image and where {', '.join(maps)} respond, overlaid on it."
    caption = "Mean ReLU response over channels, upsampled to 28x28 and scaled to [0, 1]; bright = strong."
    figure = image_figures.activation_figure(arrays["input"], maps)
    return Section("activations", "Activation maps", figures=[embed(figure, alt, caption)])


def tsne_section(files: RunFiles, requested: TsneParams) -> Section:
    predictions, names = files.predictions, files.names
    result = load_or_compute(files.run, predictions["features"], predictions["labels"], requested)
    labels = predictions["labels"][result.indices]
    p = result.params
    stated = f"perplexity {p.perplexity:g}, {p.samples:,} test images (stratified by class), seed {p.seed}"
    alt = f"t-SNE of {p.samples:,} test images' penultimate-layer features, coloured by class: {', '.join(names)}."
    caption = f"{stated}; {METHOD}; {'read from the cache' if result.cached else 'computed now and cached'}."
    figure = figures.tsne_figure(result.coords, labels, names)
    intro = "The 16 features feeding the output layer, embedded in 2-D; well-separated colours mean separable classes."
    return Section("tsne", "t-SNE of the learned features", intro=intro, figures=[embed(figure, alt, caption)])
