"""cnnreport: re-run, understand and share the small-CNN MNIST study."""

__version__ = "0.1.0"
