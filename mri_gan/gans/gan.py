"""The GAN: a thin `keras.Model` around a generator and a discriminator, in the shape of keras-io's
"DCGAN overriding train_step" (compile with two optimizers and a loss, one `train_step`).

Every kind (proposed, DCGAN, LSGAN, WGAN-GP, InfoGAN, conditional, hinge) trains through the same
step; what differs is its `GanSettings` (settings.py, read once from the run's effective config)
and the loss pair `compile` picks by name from `losses.LOSSES`:

- `n_critic` D updates per G update; with `reuse_fakes` the last one uses the fakes of G's update;
- a WGAN-GP gradient penalty (`gp_weight`) or an R1 penalty on reals (`r1_gamma`), lazily on every
  `r1_every`-th D update (losses.py);
- InfoGAN codes appended to z and predicted by D's Q outputs, the mutual-information term in
  both losses; conditional labels (`num_classes` > 0): the data's for reals, random for fakes;
- DiffAugment and/or ADA on D's inputs (augment.py, ada.py); a generator EMA (ema.py), which
  `generate` samples.

D's inputs: real and fake images go through D in one call, except where D has BatchNorm (dcgan,
the default kind): there real and fake get one call each, so that batch statistics never mix the
two (as in Radford et al.'s code). With PacGAN (`pack` > 1) D scores packs of images.

Distribution and precision: sub-models are called with `training=True`; each replica's loss is
divided by the number of replicas before gradients are summed across replicas (= the mean over the
global batch); reported numbers are `keras.metrics.Mean` trackers (trackers.py); losses are
float32 and each optimizer's `scale_loss` is used (a `LossScaleOptimizer` under mixed_float16). All
randomness comes from one `keras.random.SeedGenerator`, checkpointed, offset per replica
(sampling.py).

Backends: `train_step` runs `_train_body` (n_critic, EMA, ADA, trackers: one piece of code) with
the backend's D and G updates: TensorFlow's `tf_step.TfSteps` (tf.GradientTape, tf.distribute; the
XLA step with phase-form convolutions is phase.py) or JAX's `jax_step.JaxSteps` (stateless calls
inside Keras' own JAX `fit` loop).
"""

from __future__ import annotations

from typing import NamedTuple

import keras
from keras import ops

from mri_gan.gans import ada, augment, ema, phase, sampling, trackers
from mri_gan.gans import losses as L
from mri_gan.gans.jax_step import JaxSteps
from mri_gan.gans.settings import GanSettings
from mri_gan.gans.tf_step import TfSteps


def pack_images(x, pack: int):
    """PacGAN (Lin et al. 2018): `pack` consecutive images stacked as the channels of one D
    input, (B, H, W, 1) -> (B / pack, H, W, pack); D scores packs. A collapsed generator's
    pack holds near-identical images where a real pack never does."""
    if pack == 1:
        return x
    h, w = x.shape[1], x.shape[2]
    return ops.transpose(ops.reshape(x, [-1, pack, h, w]), [0, 2, 3, 1])


class DInputs(NamedTuple):
    """One D update's inputs: augmented [real; fake] images `x`, their labels, the reals' labels,
    the (per-replica) batch, the fakes' InfoGAN codes and WGAN-GP's interpolation weights."""

    x: object
    labels: object
    real_labels: object
    batch: object
    cat: object
    cont: object
    alpha: object


class GAN(TfSteps, JaxSteps, keras.Model):
    """GAN(generator, discriminator, settings); then `compile(d_optimizer, g_optimizer, loss)`."""

    def __init__(self, generator, discriminator, settings: GanSettings, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator, self.settings = generator, discriminator, settings
        self._xla_body = None  # the XLA-compiled step (phase.py), traced at its first use
        phase.install(settings, generator, discriminator)
        self.d_has_batchnorm = any(isinstance(layer, keras.layers.BatchNormalization)
                                   for layer in discriminator._flatten_layers(include_self=False))
        self.seed_generator = keras.random.SeedGenerator(settings.seed, name="gan_seed")
        self.ada_p, self.ada_acc, self.ada_count = ada.make_state()
        self.ema_generator = ema.make_ema(generator, settings.ema)
        self._trackers = trackers.make_trackers(settings)

    def compile(self, d_optimizer, g_optimizer, loss: str = "bce", **kwargs):
        super().compile(**kwargs)
        if loss not in L.LOSSES:
            raise ValueError(f"unknown GAN loss {loss!r} (choose from {', '.join(L.LOSSES)})")
        self.d_optimizer, self.g_optimizer, self.loss_name = d_optimizer, g_optimizer, loss
        self.g_loss_fn, self.d_loss_fn = L.LOSSES[loss]

    @property
    def metrics(self):
        return list(self._trackers.values())

    # -- sampling ---------------------------------------------------------------------------
    def sample_latent(self, n: int, seed):
        """Full generator input for `n` images from NumPy (z, then InfoGAN codes)."""
        s = self.settings
        return sampling.sample_latent(n, seed, s.latent_dim, s.info_categorical, s.info_continuous)

    def generate(self, z, labels=None):
        """Images in [-1, 1], float32 (B, S, S, 1), from the EMA generator when there is one;
        `labels` (B,) ints for a conditional GAN."""
        g = self.ema_generator if self.ema_generator is not None else self.generator
        z = ops.convert_to_tensor(z, "float32")
        if not self.settings.conditional:
            return g(z, training=False)
        if labels is None:
            raise ValueError("a conditional GAN needs labels")
        return g([z, ops.reshape(ops.cast(labels, "int32"), (-1, 1))], training=False)

    # -- one training step ------------------------------------------------------------------
    def train_step(self, *args):
        """TensorFlow: `train_step(data)`; JAX: `train_step(state, data)` (Keras' JAX trainer)."""
        if keras.backend.backend() == "jax":
            return self._jax_train_step(*args)
        return self._tf_train_step(*args)

    def _train_body(self, data, d_step, g_step):
        """n_critic D updates, one G update, the EMA, ADA's p and the trackers; `d_step` and
        `g_step` are the backend's updates (`_d_step`/`_g_step` or `_jax_d_step`/`_jax_g_step`)."""
        s = self.settings
        real, real_labels = self._unpack(data)
        _, replicas = sampling.replica_info()
        if sampling.is_tf():  # the TF updates divide each replica's loss by the replicas
            import tensorflow as tf

            batch, per_replica = tf.shape(real)[0], (replicas,)
        else:
            batch, per_replica = real.shape[0], ()
        for i in range(s.n_critic):
            if s.reuse_fakes and i == s.n_critic - 1:  # the last D update on the G update's fakes
                g_loss, d_out = g_step(batch, *per_replica, real, real_labels)
            else:
                d_out = d_step(real, real_labels, batch, *per_replica)
            trackers.record_d(self._trackers, self.loss_name, d_out)
        if not s.reuse_fakes:
            g_loss, _ = g_step(batch, *per_replica)
        self._trackers["g_loss"].update_state(g_loss)
        if self.ema_generator is not None:
            ema.update_ema(self.ema_generator, self.generator, s.ema, self.g_optimizer.iterations)
        if s.ada:  # a Python batch size: the static one (the fit pipeline drops remainders)
            ada.update((self.ada_p, self.ada_acc, self.ada_count), d_out[1], int(real.shape[0] or 1) * replicas, s)
            self._trackers["ada_p"].update_state(ops.convert_to_tensor(self.ada_p))
        return {name: t.result() for name, t in self._trackers.items()}

    def _unpack(self, data):
        """(real images float32, real labels (B, 1) int32 or None) of a batch."""
        conditional = self.settings.conditional
        if isinstance(data, (tuple, list)):
            real = data[0]
            real_labels = ops.reshape(ops.cast(data[1], "int32"), (-1, 1)) if len(data) > 1 and conditional else None
        else:
            real, real_labels = data, None
        if conditional and real_labels is None:
            raise ValueError("a conditional GAN needs (images, labels) batches")
        return ops.cast(real, "float32"), real_labels

    # -- the pieces both backends' updates share --------------------------------------------
    def _g_inputs(self, zc, labels):
        return [zc, labels] if self.settings.conditional else zc

    def _augment_seeds(self):
        """The seeds `_augment` uses (DiffAugment's, then ADA's), drawn now."""
        s = self.settings
        return [sampling.next_seed(self.seed_generator) for on in (s.diffaugment, s.ada) if on]

    def _augment(self, x, seeds=None):
        """D's view of `x` (augment.for_discriminator), with `seeds` or ones drawn now."""
        return augment.for_discriminator(x, self._augment_seeds() if seeds is None else seeds, self.settings,
                                         self.ada_p)

    def _d_inputs(self, real, real_labels, batch, given=None) -> DInputs:
        """Fresh fakes (or `given` = (fake, cat, cont, fake_labels) drawn by the caller), then
        [real; fake] augmented and WGAN-GP's weights; outside any gradient (D's weights are not in it)."""
        s = self.settings
        if given is None:
            zc, cat, cont, fake_labels = sampling.draw_inputs(self.seed_generator, batch, s)
            fake = ops.cast(self.generator(self._g_inputs(zc, fake_labels), training=True), "float32")
        else:
            fake, cat, cont, fake_labels = given
        labels = ops.concatenate([real_labels, fake_labels], axis=0) if s.conditional else None
        x = self._augment(ops.concatenate([real, fake], axis=0))
        alpha = sampling.draw_alpha(self.seed_generator, batch) if s.gp_weight > 0 else None
        return DInputs(x, labels, real_labels, batch, cat, cont, alpha)

    def _d(self, x, labels, call=None):
        """One D call -> (logits float32, q_cat, q_cont) (Q outputs None without InfoGAN). `call`
        (inputs -> outputs) replaces the stateful `discriminator(inputs, training=True)`."""
        x = pack_images(x, self.settings.pack)
        inputs = [x, labels] if self.settings.conditional else x
        out = call(inputs) if call is not None else self.discriminator(inputs, training=True)
        if isinstance(out, (list, tuple)):
            return ops.cast(out[0], "float32"), out[1], out[2]
        return ops.cast(out, "float32"), None, None

    def _d_pair(self, x, labels, batch, call=None):
        """D on [real; fake]: one call, or one each when D has BatchNorm (see the module docstring)."""
        if not self.d_has_batchnorm:
            return self._d(x, labels, call)
        lr, lf = (labels[:batch], labels[batch:]) if labels is not None else (None, None)
        a, b = self._d(x[:batch], lr, call), self._d(x[batch:], lf, call)
        return tuple(None if u is None else ops.concatenate([u, v], axis=0) for u, v in zip(a, b))

    def _critic(self, x, labels, call=None):
        """D's logits as a gradient penalty differentiates them. A BatchNorm D (DCGAN's) in
        training mode couples the images of a batch through the batch moments: the penalty
        differentiates that coupled D, the one the loss trains."""
        return self._d(x, labels, call)[0]

    def _d_losses(self, inp: DInputs, call=None, critic_call=None, r1_due=None):
        """D's loss -> (d_loss, real_logits, fake_logits, gp, info, r1). `call` / `critic_call`
        replace the stateful D call of the main pass / of the penalties. `r1_due`: None = lazy R1
        decided here (losses.lazy_r1); True / False = decided by the caller (the TensorFlow step's
        cond around the whole update): R1 x r1_every, or 0."""
        s, batch = self.settings, inp.batch
        logits, q_cat, q_cont = self._d_pair(inp.x, inp.labels, batch, call)
        n_real = batch // s.pack  # D outputs one logit per pack
        real_logits, fake_logits = logits[:n_real], logits[n_real:]
        d_loss = self.d_loss_fn(real_logits, fake_logits)
        gp = info = r1 = None
        critic = critic_call if critic_call is not None else call

        def d_of(t):
            return self._critic(t, inp.real_labels, critic)

        if s.gp_weight > 0:
            gp = L.wasserstein_gradient_penalty(d_of, inp.x[:batch], inp.x[batch:], inp.alpha)
            d_loss = d_loss + s.gp_weight * gp
        if s.r1_gamma > 0:
            penalty = lambda: L.r1_penalty(d_of, inp.x[:batch])  # noqa: E731
            if r1_due is None:
                r1 = L.lazy_r1(penalty, s.r1_every, self.d_optimizer.iterations)
            else:
                r1 = float(s.r1_every) * penalty() if r1_due else ops.zeros((), "float32")
            d_loss = d_loss + 0.5 * s.r1_gamma * r1
        if s.info_dim > 0:
            info = L.mutual_information_penalty(inp.cat, q_cat[batch:] if inp.cat is not None else None,
                                                inp.cont, q_cont[batch:] if inp.cont is not None else None)
            d_loss = d_loss + s.info_weight * info
        return d_loss, real_logits, fake_logits, gp, info, r1

    def _g_loss(self, logits, q_cat, q_cont, cat, cont):
        g_loss = self.g_loss_fn(logits)
        if self.settings.info_dim > 0:
            g_loss = g_loss + self.settings.info_weight * L.mutual_information_penalty(cat, q_cat, cont, q_cont)
        return g_loss
