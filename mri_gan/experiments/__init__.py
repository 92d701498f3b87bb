"""Experiments built from the library's stages: `compare` (baselines per class, the paper's
Table VI) and `study` (the whole pipeline from one config, with its report)."""
