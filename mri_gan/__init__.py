"""mri-gan: GAN augmentation of brain MRI slices, with honest evaluation.

Sub-packages, in pipeline order:
    data/         find files, read any format, audit, crop/resize, prepare, tf.data
    models/       functional Keras builders: generators, discriminators, classifier
    gans/         the GAN stage end to end: wrapper (one train_step for every kind), losses,
                  augmentation, fit (strategy, checkpoints, callbacks, resume), synthesis, export
    metrics/      PSNR/MSE/SSIM, FID/KID, precision/recall, diversity, memorization
    classifier/   the paper's Table II CNN experiments (train, stats, predict, export)
    experiments/  compare (Table VI) and the whole study with its report
Shared modules: config.py (the one config object), precision.py (dtype policy of both stages),
utils.py, images.py (image grids), errors.py.
TensorFlow is imported lazily by the modules that need it, never here.
"""

__version__ = "0.1.0"
