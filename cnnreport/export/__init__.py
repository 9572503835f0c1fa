"""Export runs and sweeps to the trackers users already run: TensorBoard and MLflow.

One reader of run folders (runs.py picks them, content.py turns their files into values,
figures and an embedding) feeds two writers (tensorboard.py, mlflow.py). The trackers are
the optional `trackers` extra: each writer imports its tracker inside its functions, and
`require` says how to install it when it is absent. Like the report, this only reads runs;
the one file it may add to a run folder is the report's own t-SNE cache.
"""

INSTALL_HINT = "pip install 'cnnreport[trackers]'"
