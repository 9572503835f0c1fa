"""Analyses beyond the write-up: they test its untested claims and show the evidence.

`evaluate` computes them once (pipeline.analyze) and caches them in the run directory;
`report` only reads them (sections.run_sections / sections.study_sections).

Fields added to evaluation.json (and printed by `evaluate --json`):
    dataset        the dataset the run was evaluated on
    ece, nll, reliability
                   calibration: top-label ECE (15 bins), test NLL, per-bin count/confidence/accuracy
    robustness     {images, seed, kinds: {rotation|translation|brightness|noise:
                    {axis, strengths, accuracy}}}: accuracy on one shared perturbed subset
    merged_groups  10-class runs: {accuracy_argmax, accuracy_summed, disagreements, images};
                   null for 4-class runs
    efficiency     {params, mult_adds, train_seconds, epochs, seconds_per_epoch}
    gradcam        {layer, map_side, gallery, correct_per_class}
Arrays in analysis.npz: see pipeline.ARRAY_KEYS.

One file per job: calibration, robustness, gradcam, grouping, efficiency, filters (the
numbers); seeds (experiments, mean ± std, spread notes: reusable by any comparison);
store and study (reading cached results); plots and study_plots (figures); sections_*
(report sections) and sections (the two entry points the report calls).
"""
