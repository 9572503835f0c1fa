"""Storage: atomic writes, the run lock, and RunDir, the only holder of a run folder's file names.

No torch here: reading a finished run (the report) must not load the training stack.
"""
