"""Analyses: arrays in, JSON-able results and arrays out; no figures, no files, no report types.

`jobs/evaluate.py` and `jobs/inspection.py` run them and save the results in the run directory;
the report only reads those files. Modules that need torch (anatomy, robustness, gradcam,
efficiency, filters) are never imported by the report; metrics, calibration, grouping,
perturbations, seeds and tsne are numpy-only and serve both sides.

Fields evaluate adds to evaluation.json (and prints with `evaluate --json`):
    dataset        the dataset the run was evaluated on
    ece, nll, reliability
                   calibration: top-label ECE (15 bins), test NLL, per-bin count/confidence/accuracy
    robustness     {images, seed, kinds: {rotation|translation|brightness|noise:
                    {axis, strengths, accuracy}}}: accuracy on one shared perturbed subset
    merged_groups  10-class runs: {accuracy_argmax, accuracy_summed, disagreements, images};
                   null for 4-class runs
    efficiency     {params, mult_adds, train_seconds, epochs, seconds_per_epoch}
    gradcam        {layer, map_side, gallery, correct_per_class}
Arrays in analysis.npz: see storage.rundir.ANALYSIS_ARRAYS.
"""
