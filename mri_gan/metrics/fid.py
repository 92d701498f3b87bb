"""Alias kept for the public names `mri_gan.metrics.fid.frechet_distance` and `fid.kid`, which
code outside this package may import: the implementations live in `distribution.py`."""

from mri_gan.metrics.distribution import frechet_distance, frechet_distance_from_stats, kid  # noqa: F401
