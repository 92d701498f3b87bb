"""The one GAN wrapper: a thin `keras.Model` around a generator and a discriminator.

Every kind (proposed, DCGAN, LSGAN, WGAN-GP, InfoGAN, conditional, hinge) trains through the same
`train_step`; what differs is configuration passed to the constructor and `compile`:

- the loss pair, picked by name from `mri_gan.gans.losses.LOSSES`;
- `n_critic` discriminator steps per generator step and a gradient penalty (`gp_weight` > 0);
- an R1 penalty on real images (`r1_gamma` > 0, Mescheder et al. 2018), lazily on every
  `r1_every`-th D update (StyleGAN2);
- InfoGAN codes (`info_categorical`, `info_continuous`): sampled here, appended to z, predicted
  by the discriminator's Q outputs; `mutual_information_penalty` is added to both losses;
- conditional labels (`num_classes` > 0): real labels from the dataset, random labels for fakes;
- DiffAugment (`diffaugment` policy) and/or ADA (`ada`) on real and fake images before D;
- a generator EMA copy (`ema` decay > 0) used by `generate()`.

Distribution and precision: sub-models are called with
`training=True`; real and fake images go through D in ONE call (one spectral-norm power iteration
per D step); each replica's loss is divided by the number of replicas before its gradients are
summed across replicas (= the mean over the global batch); reported numbers go through
`keras.metrics.Mean` trackers, which aggregate across replicas; losses are float32 and each
optimizer's `scale_loss` is used (a `LossScaleOptimizer` under mixed_float16). All randomness
comes from one `keras.random.SeedGenerator`, whose state is checkpointed, offset per replica so
that replicas do not draw the same latents.

Backends. The losses, augmentations, layers, packing and sampling are `keras.ops` /
`mri_gan.gans.rng`, shared by two train steps. TensorFlow (the default) runs `_d_step`/`_g_step` of
`mri_gan.gans.tf_step.TfSteps` (a mixin of this class): stateful calls under `tf.GradientTape`,
`tf.distribute` for several devices, XLA-compiled where they can be. JAX runs the stateless
step of `mri_gan.gans.jax_step.JaxSteps` (a mixin of this class; why it looks the way it does is
told there) inside Keras' own JAX `fit` loop. Both call `_train_body`, so n_critic, EMA, ADA and
the trackers are one piece of code.
"""

from __future__ import annotations

import numpy as np
import keras
from keras import ops

from mri_gan.gans import losses as L
from mri_gan.gans import rng
from mri_gan.gans.jax_step import JaxSteps
from mri_gan.gans.tf_step import TfSteps


def _is_tf() -> bool:
    return keras.backend.backend() == "tensorflow"


def _replica_info():
    """(replica id, replicas in sync): tf.distribute's on TensorFlow, (0, 1) elsewhere (JAX's
    DataParallel step sees the global batch)."""
    if not _is_tf():
        return 0, 1
    import tensorflow as tf

    ctx = tf.distribute.get_replica_context()
    n = tf.distribute.get_strategy().num_replicas_in_sync
    if ctx is None:  # cross-replica context (e.g. eager outside fit)
        return 0, n
    return ctx.replica_id_in_sync_group, n


def sample_latent(n: int, seed, latent_dim: int, info_categorical: int = 0, info_continuous: int = 0) -> np.ndarray:
    """Generator input for `n` images from NumPy: z ~ N(0, 1) (latent_dim), then a one-hot
    categorical code and uniform(-1, 1) continuous codes for InfoGAN. The same seed (int or list
    of ints) gives the same array on every machine."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, latent_dim))
    parts = [z.astype(np.float32)]
    if info_categorical > 0:
        parts.append(np.eye(info_categorical, dtype=np.float32)[rng.integers(0, info_categorical, n)])
    if info_continuous > 0:
        parts.append(rng.uniform(-1.0, 1.0, (n, info_continuous)).astype(np.float32))
    return np.concatenate(parts, axis=1)


def pack_images(x, pack: int):
    """PacGAN (Lin et al. 2018): `pack` consecutive images stacked as the channels of one D
    input, (B, H, W, 1) -> (B / pack, H, W, pack); D scores packs. A collapsed generator's
    pack holds near-identical images where a real pack never does."""
    if pack == 1:
        return x
    h, w = x.shape[1], x.shape[2]
    y = ops.reshape(x, [-1, pack, h, w])
    return ops.transpose(y, [0, 2, 3, 1])


class GAN(TfSteps, JaxSteps, keras.Model):
    """GAN(generator, discriminator, latent_dim, ...); then `compile(d_optimizer, g_optimizer, loss)`."""

    def __init__(self, generator, discriminator, latent_dim: int, num_classes: int = 0,
                 info_categorical: int = 0, info_continuous: int = 0, info_weight: float = 1.0,
                 n_critic: int = 1, gp_weight: float = 0.0, diffaugment: str = "", ada: bool = False,
                 ada_target: float = 0.6, ada_interval: int = 4, ada_speed: float = 20000.0,
                 ema: float = 0.0, r1_gamma: float = 0.0, r1_every: int = 1, pack: int = 1, reuse_fakes: bool = False, augment_group: int = 1, seed: int = 0,
                 jit: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.num_classes = int(num_classes)
        self.info_categorical = int(info_categorical)
        self.info_continuous = int(info_continuous)
        self.info_weight = float(info_weight)
        self.n_critic = max(1, int(n_critic))
        self.gp_weight = float(gp_weight)
        self.diffaugment = diffaugment or ""
        self.ada = bool(ada)
        self.ada_target, self.ada_interval, self.ada_speed = float(ada_target), int(ada_interval), float(ada_speed)
        self.ema = float(ema)
        self.r1_gamma = float(r1_gamma)
        self.r1_every = max(1, int(r1_every))
        self.pack = max(1, int(pack))
        self.reuse_fakes = bool(reuse_fakes)
        self.augment_group = max(1, int(augment_group))
        self.seed = int(seed)
        self.jit = bool(jit)  # TensorFlow: XLA-compile the steps without an R1 update (tf_step.py, _tf_train_body)
        self._xla_body = None
        if self.jit and _is_tf():
            from mri_gan.models.phase_conv import install

            install(generator, discriminator)  # stride-2 convs in phase form inside the XLA step
        self.d_has_batchnorm = any(isinstance(layer, keras.layers.BatchNormalization)
                                   for layer in discriminator._flatten_layers(include_self=False))
        self.seed_generator = keras.random.SeedGenerator(seed, name="gan_seed")
        if _is_tf():
            import tensorflow as tf

            only_first = tf.VariableAggregation.ONLY_FIRST_REPLICA
            # ADA state: every replica computes the same (all-reduced) values, the first one is kept.
            self.ada_p = tf.Variable(0.0, trainable=False, dtype=tf.float32, aggregation=only_first, name="ada_p")
            self.ada_acc = tf.Variable(0.0, trainable=False, dtype=tf.float32, aggregation=only_first, name="ada_acc")
            self.ada_count = tf.Variable(0, trainable=False, dtype=tf.int64, aggregation=only_first, name="ada_count")
        else:  # Keras variables: tracked, so the JAX step threads them as non-trainable state
            self.ada_p = keras.Variable(0.0, trainable=False, dtype="float32", name="ada_p")
            self.ada_acc = keras.Variable(0.0, trainable=False, dtype="float32", name="ada_acc")
            self.ada_count = keras.Variable(0, trainable=False, dtype="int32", name="ada_count")
        self.ema_generator = None
        if self.ema > 0:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        # d_acc_*: share of real (fake) images D puts on the right side of the loss's decision
        # threshold; d_margin: mean raw output on real minus on fake. Both near chance / 0 for a
        # stretch of training mean D gives G no signal (fit warns).
        names = ["d_loss", "g_loss", "d_real", "d_fake", "d_acc_real", "d_acc_fake", "d_margin"]
        if self.gp_weight > 0:
            names.append("gp")
        if self.r1_gamma > 0:
            names.append("r1")
        if self.info_dim > 0:
            names.append("info_loss")
        if self.ada:
            names.append("ada_p")
        self._trackers = {n: keras.metrics.Mean(name=n) for n in names}

    # -- configuration --------------------------------------------------------------------
    @property
    def info_dim(self) -> int:
        return self.info_categorical + self.info_continuous

    @property
    def input_dim(self) -> int:
        """Width of the generator's latent input: z plus InfoGAN codes."""
        return self.latent_dim + self.info_dim

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    def compile(self, d_optimizer, g_optimizer, loss: str = "bce", **kwargs):
        super().compile(**kwargs)
        if loss not in L.LOSSES:
            raise ValueError(f"unknown GAN loss {loss!r} (choose from {', '.join(L.LOSSES)})")
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_name = loss
        self.g_loss_fn, self.d_loss_fn = L.LOSSES[loss]

    @property
    def non_trainable_variables(self):
        """On JAX also both optimizers' variables: the state Keras' JAX trainer threads through
        `_jax_train_step` (see the module docstring)."""
        base = super().non_trainable_variables
        if _is_tf() or not hasattr(self, "d_optimizer"):
            return base
        seen = {id(v) for v in base}
        extra = [v for v in self.d_optimizer.variables + self.g_optimizer.variables if id(v) not in seen]
        return base + extra

    def build_all(self) -> None:
        """Create every variable now (inside the strategy scope): models, EMA copy, optimizers."""
        z = ops.zeros((2, self.input_dim), "float32")
        y = ops.zeros((2, 1), "int32")
        g_in = [z, y] if self.conditional else z
        x = self.generator(g_in, training=False)
        if self.pack > 1:
            x = self._packed(ops.concatenate([x] * self.pack, axis=0)[: 2 * self.pack])
        self.discriminator([x, y] if self.conditional else x, training=False)
        if self.ema_generator is not None:
            self.ema_generator(g_in, training=False)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
        if getattr(self, "optimizer", None) is not None and not self.optimizer.built:
            self.optimizer.build([])  # compile()'s default, never used: no slots for every weight
        self.built = True

    @property
    def metrics(self):
        return list(self._trackers.values())

    # -- sampling ---------------------------------------------------------------------------
    def sample_latent(self, n: int, seed) -> np.ndarray:
        """Full generator input for `n` images (z, then InfoGAN codes); see `sample_latent`."""
        return sample_latent(n, seed, self.latent_dim, self.info_categorical, self.info_continuous)

    def active_generator(self):
        """The generator used for sampling: the EMA copy when enabled."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def generate(self, z, labels=None):
        """Images in [-1, 1], float32 (B, S, S, 1); `labels` (B,) ints for a conditional GAN."""
        g = self.active_generator()
        if self.conditional:
            if labels is None:
                raise ValueError("a conditional GAN needs labels")
            labels = ops.reshape(ops.cast(labels, "int32"), (-1, 1))
            return g([ops.convert_to_tensor(z, "float32"), labels], training=False)
        return g(ops.convert_to_tensor(z, "float32"), training=False)

    # -- training ---------------------------------------------------------------------------
    def _next_seed(self):
        """A fresh (2,) seed for stateless ops (int32 on TF, different on each replica; JAX's uint32 key)."""
        if not _is_tf():
            return self.seed_generator.next()
        import tensorflow as tf

        rid, _ = _replica_info()
        s = tf.cast(self.seed_generator.next(), tf.int64)
        s = s + tf.stack([tf.cast(rid, tf.int64) * 1_000_003, tf.constant(0, tf.int64)])
        return tf.cast(tf.math.floormod(s, 2**31 - 1), tf.int32)

    def _sample_inputs(self, batch):
        """Generator input (z [+ codes]), the codes (for the MI term) and fake labels."""
        z = rng.normal((batch, self.latent_dim), self._next_seed())
        parts, cat, cont = [z], None, None
        if self.info_categorical > 0:
            idx = rng.uniform((batch,), self._next_seed(), 0, self.info_categorical, dtype="int32")
            cat = ops.one_hot(idx, self.info_categorical, dtype="float32")
            parts.append(cat)
        if self.info_continuous > 0:
            cont = rng.uniform((batch, self.info_continuous), self._next_seed(), -1.0, 1.0)
            parts.append(cont)
        zc = ops.concatenate(parts, axis=1) if len(parts) > 1 else z
        labels = None
        if self.conditional:
            labels = rng.uniform((batch, 1), self._next_seed(), 0, self.num_classes, dtype="int32")
        return zc, cat, cont, labels

    def _g_inputs(self, zc, labels):
        return [zc, labels] if self.conditional else zc

    def _augment_seeds(self):
        """The seeds `_augment` draws (DiffAugment's, then ADA's), drawn now."""
        return [self._next_seed() for on in (self.diffaugment, self.ada) if on]

    def _augment(self, x, seeds=None):
        seeds = list(seeds) if seeds is not None else None
        draw = (lambda: seeds.pop(0)) if seeds is not None else self._next_seed
        if self.diffaugment:
            from mri_gan.gans.augment import diff_augment

            x = diff_augment(x, self.diffaugment, draw(), self.augment_group)
        if self.ada:
            from mri_gan.gans.augment import ada_augment

            x = ada_augment(x, ops.convert_to_tensor(self.ada_p), draw(), self.augment_group)
        return x

    def _packed(self, x):
        return pack_images(x, self.pack)

    def _d(self, x, labels, call=None):
        """One discriminator call -> (logits float32, q_cat, q_cont) (Q outputs None without InfoGAN).
        `call` (inputs -> outputs) replaces the stateful `discriminator(inputs, training=True)`."""
        x = self._packed(x)
        inputs = [x, labels] if self.conditional else x
        out = call(inputs) if call is not None else self.discriminator(inputs, training=True)
        if isinstance(out, (list, tuple)):
            return ops.cast(out[0], "float32"), out[1], out[2]
        return ops.cast(out, "float32"), None, None

    def _d_pair(self, x, labels, batch, call=None):
        """D on [real; fake]: one call, or two when D has BatchNorm (DCGAN), so that batch
        statistics are never mixed across real and fake (as in Radford et al.'s code)."""
        if not self.d_has_batchnorm:
            return self._d(x, labels, call)
        split = (lambda t: (t[:batch], t[batch:])) if labels is not None else (lambda t: (None, None))
        (lr, lf) = split(labels)
        a, b = self._d(x[:batch], lr, call), self._d(x[batch:], lf, call)
        return tuple(None if u is None else ops.concatenate([u, v], axis=0) for u, v in zip(a, b))

    def _score(self, logits):
        """What `d_real`/`d_fake` report: sigmoid probability for BCE, the raw output otherwise."""
        return ops.mean(ops.sigmoid(logits)) if self.loss_name == "bce" else ops.mean(logits)

    def _health(self, real_logits, fake_logits):
        """(accuracy on real, accuracy on fake, logit margin) of one D pass."""
        mr, mf = ops.mean(real_logits), ops.mean(fake_logits)
        if self.loss_name == "lsgan":
            thr_r = thr_f = 0.5
        elif self.loss_name == "wgan_gp":  # a critic has no fixed threshold: the midpoint of the two means
            thr_r = thr_f = 0.5 * (mr + mf)
        else:
            thr_r = thr_f = 0.0
        acc_r = ops.mean(ops.cast(real_logits > thr_r, "float32"))
        acc_f = ops.mean(ops.cast(fake_logits < thr_f, "float32"))
        return acc_r, acc_f, mr - mf

    def _d_losses(self, x, labels, real_labels, batch, cat, cont, alpha, call=None, critic_call=None,
                  r1_due=None):
        """D's loss on augmented [real; fake] `x` -> (d_loss, real_logits, fake_logits, gp, info, r1).
        `call` / `critic_call` replace the stateful D call of the main pass / of the penalties.
        `r1_due`: None = lazy R1 decided here (`_r1`'s cond); True / False = the caller decided
        (the TensorFlow step's cond around the whole update), R1 x r1_every or 0."""
        logits, q_cat, q_cont = self._d_pair(x, labels, batch, call)
        n_real = batch // self.pack  # D outputs one logit per pack
        real_logits, fake_logits = logits[:n_real], logits[n_real:]
        d_loss = self.d_loss_fn(real_logits, fake_logits)
        gp = info = r1 = None
        critic = critic_call if critic_call is not None else call
        if self.gp_weight > 0:
            gp = L.wasserstein_gradient_penalty(
                lambda t: self._critic(t, real_labels, critic), x[:batch], x[batch:], alpha)
            d_loss = d_loss + self.gp_weight * gp
        if self.r1_gamma > 0:
            penalty = lambda: L.r1_penalty(lambda t: self._critic(t, real_labels, critic), x[:batch])  # noqa: E731
            if r1_due is None:
                r1 = self._r1(penalty)
            elif r1_due:
                r1 = float(self.r1_every) * penalty()
            else:
                r1 = ops.zeros((), "float32")
            d_loss = d_loss + 0.5 * self.r1_gamma * r1
        if self.info_dim > 0:
            info = L.mutual_information_penalty(cat, q_cat[batch:] if cat is not None else None,
                                                cont, q_cont[batch:] if cont is not None else None)
            d_loss = d_loss + self.info_weight * info
        return d_loss, real_logits, fake_logits, gp, info, r1

    def _critic(self, x, labels, call=None):
        """D's logits as a gradient penalty differentiates them. A BatchNorm D (DCGAN's) in
        training mode couples the images of a batch through the batch moments: the penalty
        differentiates that coupled D, the one the loss trains."""
        return self._d(x, labels, call)[0]

    def _r1(self, penalty):
        """R1 as it enters D's loss. Lazy (`r1_every` = N > 1, StyleGAN2's lazy regularization,
        Karras et al. 2020, sec. 4.1): computed only on every Nth D update (the D optimizer's
        iteration count a multiple of N) and weighted by N there, 0 on the others, so its mean over
        the run is unchanged while its extra backward pass is paid once per N updates; the `r1`
        tracker's epoch mean is then the R1 estimate it always was."""
        if self.r1_every == 1:
            return penalty()
        return ops.cond(self._r1_due(), lambda: float(self.r1_every) * penalty(), lambda: ops.zeros((), "float32"))

    def _r1_due(self):
        """Whether this D update carries the lazy R1 penalty: D's iteration count a multiple of N."""
        return ops.equal(ops.mod(ops.convert_to_tensor(self.d_optimizer.iterations), self.r1_every), 0)

    def _g_loss(self, logits, q_cat, q_cont, cat, cont):
        g_loss = self.g_loss_fn(logits)
        if self.info_dim > 0:
            g_loss = g_loss + self.info_weight * L.mutual_information_penalty(cat, q_cat, cont, q_cont)
        return g_loss

    def _fakes_for_d(self, batch, given):
        if given is not None:
            return given
        zc, cat, cont, fake_labels = self._sample_inputs(batch)
        fake = ops.cast(self.generator(self._g_inputs(zc, fake_labels), training=True), "float32")
        return fake, cat, cont, fake_labels

    def _alpha(self, batch):
        """WGAN-GP's interpolation weights, drawn after the augmentation seeds (as always)."""
        return rng.uniform((batch, 1, 1, 1), self._next_seed()) if self.gp_weight > 0 else None

    # -- shared by both steps -------------------------------------------------------------------
    def _update_ema(self):
        # Warm-up as tf.train.ExponentialMovingAverage(num_updates=...): decay min(ema, (1 + n) /
        # (10 + n)) after n generator steps, so the average forgets the random initial weights
        # (with a flat 0.999, 13 % of them are still in it after 2,000 steps).
        n = ops.cast(self.g_optimizer.iterations, "float32")
        d = ops.minimum(self.ema, (1.0 + n) / (10.0 + n))
        for e, w in zip(self.ema_generator.weights, self.generator.weights):
            e.assign(d * e + (1.0 - d) * w if w.trainable else w)

    def _update_ada(self, real_logits, global_batch):
        from mri_gan.gans.augment import ada_update

        sign = ops.mean(ops.sign(real_logits))
        if _is_tf():
            import tensorflow as tf

            ctx = tf.distribute.get_replica_context()
            if ctx is not None and tf.distribute.get_strategy().num_replicas_in_sync > 1:
                sign = ctx.all_reduce(tf.distribute.ReduceOp.MEAN, sign)
        p = ops.convert_to_tensor(self.ada_p)
        acc = ops.convert_to_tensor(self.ada_acc) + sign
        count = ops.convert_to_tensor(self.ada_count) + 1
        due = ops.equal(ops.mod(count, self.ada_interval), 0)
        new_p = ada_update(p, acc / float(self.ada_interval), self.ada_target, global_batch,
                           self.ada_interval, self.ada_speed)
        self.ada_p.assign(ops.where(due, new_p, p))
        self.ada_acc.assign(ops.where(due, 0.0, acc))
        self.ada_count.assign(count)

    def train_step(self, *args):
        """TensorFlow: `train_step(data)`; JAX: `train_step(state, data)` (Keras' JAX trainer)."""
        if keras.backend.backend() == "jax":
            return self._jax_train_step(*args)
        return self._tf_train_step(*args)

    def _train_body(self, data, d_step, g_step):
        """n_critic D updates, one G update, EMA, ADA and the trackers; the step functions are
        the backend's (`_d_step`/`_g_step` or `_jax_d_step`/`_jax_g_step`)."""
        if isinstance(data, (tuple, list)):
            real = data[0]
            real_labels = ops.reshape(ops.cast(data[1], "int32"), (-1, 1)) if len(data) > 1 and self.conditional else None
        else:
            real, real_labels = data, None
        if self.conditional and real_labels is None:
            raise ValueError("a conditional GAN needs (images, labels) batches")
        real = ops.cast(real, "float32")
        _, replicas = _replica_info()
        if _is_tf():
            import tensorflow as tf

            batch = tf.shape(real)[0]
            d_args, g_args = (replicas,), (replicas,)
        else:
            batch = real.shape[0]
            d_args = g_args = ()
        for i in range(self.n_critic):
            if self.reuse_fakes and i == self.n_critic - 1:
                g_loss, d_out = g_step(batch, *g_args, real, real_labels)
            else:
                d_out = d_step(real, real_labels, batch, *d_args)
            d_loss, real_logits, fake_logits, gp, info, r1 = d_out
            self._trackers["d_loss"].update_state(d_loss)
            self._trackers["d_real"].update_state(self._score(real_logits))
            self._trackers["d_fake"].update_state(self._score(fake_logits))
            for name, v in zip(("d_acc_real", "d_acc_fake", "d_margin"), self._health(real_logits, fake_logits)):
                self._trackers[name].update_state(v)
            if gp is not None:
                self._trackers["gp"].update_state(gp)
            if r1 is not None:
                self._trackers["r1"].update_state(r1)
            if info is not None:
                self._trackers["info_loss"].update_state(info)
        if not self.reuse_fakes:
            g_loss, _ = g_step(batch, *g_args)
        self._trackers["g_loss"].update_state(g_loss)
        if self.ema_generator is not None:
            self._update_ema()
        if self.ada:
            # ada_update wants a Python batch size: the static one (the fit pipeline drops remainders)
            self._update_ada(real_logits, int(real.shape[0] or 1) * replicas)
            self._trackers["ada_p"].update_state(ops.convert_to_tensor(self.ada_p))
        return {name: t.result() for name, t in self._trackers.items()}
