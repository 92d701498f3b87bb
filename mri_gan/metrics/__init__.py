"""Metrics of synthetic images against real ones, one module per family:

    ssim.py          PSNR / MSE / SSIM / MS-SSIM of image batches (tf.image's formulas, keras.ops)
    pixel.py         PSNR / MSE / SSIM and the nearest / random pairing (shortlist search)
    distribution.py  Fréchet distance, KID, precision/recall, density/coverage (from activations)
    features.py      feature extractors: trained classifier, InceptionV3, any .keras model
    diversity.py     mean pairwise MS-SSIM within a set (mode collapse)
    memorization.py  nearest training image, calibrated copy threshold, worst-examples figure
    evaluate.py      evaluate_sets / evaluate_dirs / format_table: all of the above, as JSON

SSIM/PSNR/MS-SSIM (ssim.py) and the feature models' preprocessing are keras.ops code, so the
metrics run on any Keras backend; TensorFlow is imported only on the TensorFlow backend (ssim's
`tf.function`, the feature classifier's tf.data input) and by `ssim.tf_scores`, the tf.image
reference the tests compare with.
"""

from mri_gan.metrics.distribution import (
    feature_stats,
    frechet_distance,
    frechet_distance_from_stats,
    kid,
    precision_recall_density_coverage,
)
from mri_gan.metrics.diversity import mean_pairwise_ms_ssim, ms_ssim_params
from mri_gan.metrics.evaluate import evaluate_dirs, evaluate_sets, format_table
from mri_gan.metrics.memorization import memorization
from mri_gan.metrics.pixel import nearest_real, pair_scores, pixel_metrics

__all__ = [
    "evaluate_sets", "evaluate_dirs", "format_table", "pixel_metrics", "nearest_real", "pair_scores",
    "frechet_distance", "frechet_distance_from_stats", "feature_stats", "kid",
    "precision_recall_density_coverage", "mean_pairwise_ms_ssim", "ms_ssim_params", "memorization",
    "get_extractor",
]


def get_extractor(*args, **kwargs):
    """See `mri_gan.metrics.features.get_extractor` (imported on use: it pulls in Keras)."""
    from mri_gan.metrics.features import get_extractor as _get

    return _get(*args, **kwargs)
