"""Alias kept for the name used in contracts.md (`fid.frechet_distance`, `fid.kid`): the
implementations live in `distribution.py`."""

from mri_gan.metrics.distribution import frechet_distance, frechet_distance_from_stats, kid  # noqa: F401
