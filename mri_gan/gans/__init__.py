"""The GAN stage end to end, from the wrapper to the exported generator:

    gan.py         the GAN (a thin `keras.Model`): one train_step for every kind
    tf_step.py     its D and G updates on TensorFlow (GradientTape, tf.distribute)
    jax_step.py    its D and G updates on JAX (stateless, inside Keras' JAX fit loop)
    phase.py       the XLA-compiled TensorFlow step with phase-form stride-2 convolutions
    settings.py    `GanSettings`: what the step needs of a run's effective config
    losses.py      losses and penalties as pure functions of discriminator outputs
    sampling.py    latents (NumPy for sampling; the seeded in-step draws, per replica)
    augment.py     DiffAugment and ADA on real and fake images before D
    ada.py         ADA's state and the adjustment of its probability p
    ema.py         the generator's exponential moving average
    trackers.py    the numbers a step reports (losses, D's scores and health)
    factory.py     `effective_config` (the kind resolved once) and `build_gan`
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
