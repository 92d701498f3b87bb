"""The GAN stage end to end, from the wrapper to the exported generator:

    gan.py         the one GAN wrapper (`keras.Model`): train_step for every kind, EMA, loss trackers
    losses.py      losses and penalties as pure functions of discriminator outputs
    augment.py     DiffAugment and ADA on real and fake images before D
    factory.py     `build_gan`: models, loss and optimizers of each `gan.kind`
    strategy.py    the tf.distribute strategy of a run (auto, mirrored, multi-worker)
    checkpoint.py  tf.train checkpoints of a run, resolve and restore a generator
    callbacks.py   Keras callbacks: NaN stop, history.jsonl/TensorBoard, sample grids, checkpoints
    monitor.py     quality (KID/FID, ...) while training, the best snapshot, health warnings
    fit.py         `run_fit`: train one GAN into a run directory, with resume
    synthesis.py   load a trained generator and write synthetic PNGs with a manifest
    export.py      a run's generator as a .keras file and a TF SavedModel

This __init__ imports nothing; fit, strategy, checkpoint, synthesis and export load TensorFlow
only inside the functions that need it, so the CLI can import them and `--help` stays fast.
"""
