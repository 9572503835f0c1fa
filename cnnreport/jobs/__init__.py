"""Jobs: load a run -> run the analyses -> write their results into the run directory.

evaluate, inspection and reproduce; the CLI calls these, and only these write analysis results.
"""
