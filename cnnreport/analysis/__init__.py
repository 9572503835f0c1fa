"""Analyses beyond the write-up: calibration, robustness, attribution, grouping."""
