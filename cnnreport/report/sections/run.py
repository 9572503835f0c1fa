"""One run's part of the report that mirrors the write-up, in its order, as generic Sections.

Each section reads only the files it needs (through RunResults), so a run without an
evaluation still shows its architecture and learning curves; a section whose files are
missing says which ones and which command makes them (sections.guarded).
"""

from __future__ import annotations

import numpy as np

from cnnreport.ablation import batch_norm_count, feature_count
from cnnreport.analyses.metrics import softmax
from cnnreport.analyses.tsne import METHOD
from cnnreport.config import WRITEUP_WIDTHS, ExperimentConfig
from cnnreport.report.document import Section, Table
from cnnreport.report.figures import curves as plots
from cnnreport.report.figures import embed, images
from cnnreport.report.format import percent
from cnnreport.report.results import RunResults

LAYER_KINDS = ("Conv2d", "MaxPool2d", "AvgPool2d")  # the layers whose channels are shown


def architecture(files: RunResults) -> Section:
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
    notes += [expected_params_note(files.config, summary["params_total"])]
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


def expected_params_note(config: ExperimentConfig, total: int) -> str:
    """Compare with the write-up's count, including its known slip for 4 classes, and say what changes it."""
    expected = 4470 if config.classes == 10 else 4368
    verdict = "matches" if total == expected else "differs from"
    slip = " (the write-up restated 4,470 for this network by mistake)" if config.classes == 4 else ""
    changes = []
    if config.batch_norm:
        changes.append(f"batch norm adds {batch_norm_count(config):,}")
    if config.widths != WRITEUP_WIDTHS:
        changes.append("channel widths {}, {}, {} in place of {}, {}, {}".format(*config.widths, *WRITEUP_WIDTHS))
    why = f": {'; '.join(changes)}" if changes and total != expected else ""
    return f"{total:,} parameters {verdict} the write-up's {expected:,} for {config.classes} classes{slip}{why}."


def training_conditions(config: ExperimentConfig) -> str:
    """What made training scores differ from clean ones in this run, as a parenthesis ('' when nothing did)."""
    active = ["augmentation"] if config.augment or config.mild_augment else []
    active += [f"dropout {config.dropout:g}"] if config.dropout else []
    return f" ({' and '.join(active)} on)" if active else " (no augmentation, no dropout)"


def curves(files: RunResults) -> Section:
    epochs = files.metrics
    last = epochs[-1]
    figure = plots.learning_curves(epochs)
    scored = last["test_accuracy"] is not None  # with --validation the test set is scored after the last epoch
    final = (
        f"test loss {last['test_loss']:.3f}, test accuracy {percent(last['test_accuracy'])}"
        if scored
        else "no test score yet"
    )
    span = f"{len(epochs)} epoch{'s' if len(epochs) != 1 else ''}"
    alt = f"Loss and accuracy over {span}; final train loss {last['train_loss']:.3f}, {final}."
    caption = f"Train values are running averages while training{training_conditions(files.config)}; test is clean."
    if "validation_accuracy" in last:
        caption += " Validation: the held-out end of the training set, scored each epoch; test only after the last."
    return Section("curves", "Learning curves", figures=[embed(figure, alt, caption)])


def confusion(files: RunResults) -> Section:
    names = files.names
    matrix = np.asarray(files.evaluation["confusion_matrix"])  # as evaluate counted it
    figure = plots.confusion_figure(matrix, names)
    alt = f"Confusion matrix over {int(matrix.sum()):,} test images for classes {', '.join(names)}."
    pairs = [[f"{p['true']} → {p['predicted']}", f"{p['count']:,}"] for p in files.evaluation["most_confused"]]
    tables = [Table("Most confused pairs", ["True → predicted", "Count"], pairs)] if pairs else []
    notes = [] if pairs else ["No test image was misclassified."]
    caption = "Each cell: count and share of its row (the true class)."
    return Section("confusion", "Confusion matrix", figures=[embed(figure, alt, caption)], tables=tables, notes=notes)


def per_class(files: RunResults) -> Section:
    rows = [
        [r["class"], f"{r['precision']:.4f}", f"{r['recall']:.4f}", f"{r['f1']:.4f}", f"{r['support']:,}"]
        for r in files.evaluation["per_class"]
    ]
    means = [np.mean([r[k] for r in files.evaluation["per_class"]]) for k in ("precision", "recall", "f1")]
    rows.append(["macro average", *(f"{m:.4f}" for m in means), ""])
    table = Table("Test set, per class", ["Class", "Precision", "Recall", "F1", "Support"], rows)
    return Section("per-class", "Per-class precision, recall and F1", tables=[table])


def gallery_items(files: RunResults) -> list[images.GalleryItem]:
    """The misclassified test images evaluate kept, worst first, with what the model made of them."""
    predictions, names = files.predictions, files.names
    indices = predictions["gallery_indices"]
    probabilities = softmax(predictions["logits"][indices].astype(np.float64))
    return [
        images.GalleryItem(image, _true_label(names, predictions, i), names[int(p.argmax())], float(p.max()))
        for image, i, p in zip(predictions["gallery_images"], indices, probabilities, strict=True)
    ]


def gallery(files: RunResults) -> Section:
    items = gallery_items(files)
    if not items:
        return Section("errors", "Error gallery", notes=["No test image was misclassified."])
    listing = "; ".join(f"{item.true} as {item.predicted} ({percent(item.confidence, 0)})" for item in items)
    alt = f"{len(items)} misclassified test images, worst first: {listing}."
    caption = "Misclassified test images, highest loss first: true class, predicted class and its probability."
    return Section("errors", "Error gallery", figures=[embed(images.gallery_figure(items), alt, caption)])


def _true_label(names: list[str], predictions: dict[str, np.ndarray], index: int) -> str:
    """The true class; for grouped classes also the digit, since '{2,3,5,8}' alone hides it."""
    name = names[int(predictions["labels"][index])]
    digit = str(int(predictions["digits"][index]))
    return name if name == digit else f"{digit} {name}"


def layer_outputs(files: RunResults) -> Section:
    arrays, anatomy = files.layers, files.anatomy
    title = f"test image {anatomy['index']} (label {anatomy['label']})"
    shown = [embed(images.input_figure(arrays["input"], title), f"Input: {title}.")]
    for key, output in arrays.items():
        name = key.removeprefix("output:")
        if key.startswith("output:") and name.startswith(LAYER_KINDS):
            alt = f"All {output.shape[0]} channels of {name}'s output {list(output.shape)} for {title}."
            shown.append(embed(images.channel_grid(name, output), alt))
        elif key.startswith("output:Linear"):
            alt = f"{name}: class probabilities for {title}."
            shown.append(embed(images.class_scores_figure(name, output, files.names), alt))
    intro = f"What each conv and pooling layer makes of {title}; every channel, each on its own colour scale."
    return Section("layers", "Layer outputs", intro=intro, figures=shown)


def activations(files: RunResults) -> Section:
    arrays = files.layers
    maps = {key.removeprefix("activation:"): a for key, a in arrays.items() if key.startswith("activation:")}
    alt = f"The input image and where {', '.join(maps)} respond, overlaid on it."
    caption = "Mean ReLU response over channels, upsampled to 28x28 and scaled to [0, 1]; bright = strong."
    figure = images.activation_figure(arrays["input"], maps)
    return Section("activations", "Activation maps", figures=[embed(figure, alt, caption)])


def tsne_section(files: RunResults) -> Section:
    """The embedding build's cache-filling step found or made (this section only reads it)."""
    predictions, names, result = files.predictions, files.names, files.tsne
    labels = predictions["labels"][result.indices]
    p = result.params
    stated = f"perplexity {p.perplexity:g}, {p.samples:,} test images (stratified by class), seed {p.seed}"
    alt = f"t-SNE of {p.samples:,} test images' penultimate-layer features, coloured by class: {', '.join(names)}."
    caption = f"{stated}; {METHOD}; {'read from the cache' if result.cached else 'computed now and cached'}."
    figure = plots.tsne_figure(result.coords, labels, names)
    intro = (
        f"The {feature_count(files.config)} features feeding the output layer, embedded in 2-D; "
        "well-separated colours mean separable classes."
    )
    return Section("tsne", "t-SNE of the learned features", intro=intro, figures=[embed(figure, alt, caption)])
