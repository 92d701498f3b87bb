"""mri-gan: GAN augmentation of brain MRI slices, with honest evaluation.

Sub-packages, in pipeline order:
    data/         find files, read any format, audit, crop/resize, prepare, tf.data
    models/       functional Keras builders: generators, discriminators, classifier
    gans/         the GAN wrapper (one train_step for every kind), losses, augmentation
    training/     fit loop plumbing: strategy, checkpoints, callbacks, resume
    metrics/      PSNR/MSE/SSIM, FID/KID, precision/recall, diversity, memorization
    classifier/   the paper's Table II CNN experiments (train, stats, predict, export)
    experiments/  compare (Table VI) and the whole study with its report
TensorFlow is imported lazily by the modules that need it, never here.
"""

__version__ = "0.1.0"
