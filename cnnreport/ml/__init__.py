"""Machine learning: data, augmentation, the model (and loading it), inference, checkpoints, training.

Inference and `load_model` never import the training loop (train.py): readers of a model,
like evaluate and inspect, depend on the model, not on how it was trained.
"""
