"""The GAN's D and G updates on TensorFlow: a mixin of `mri_gan.gans.gan.GAN`.

`_d_step` and `_g_step` are stateful updates under `tf.GradientTape`; each replica's loss is
divided by the number of replicas before the gradients are summed across them (`tf.distribute`).
`_tf_train_step` runs `GAN._train_body` with them, as a plain graph or, with `train.jit_compile`,
XLA-compiled where the step has no R1 update (phase.py). The JAX updates are
`mri_gan.gans.jax_step.JaxSteps`; both share the losses, sampling, augmentation and `_train_body`.
"""

from __future__ import annotations

from keras import ops

from mri_gan.gans import losses as L
from mri_gan.gans import sampling


class TfSteps:
    """`_d_step`, `_g_step` and `_tf_train_step` of `GAN` on TensorFlow."""

    def _d_step(self, real, real_labels, batch, replicas, given=None, r1=True):
        """One D update; `given` = (fake, cat, cont, fake_labels) reuses fakes drawn by the caller.
        `r1=False`: a lazy-R1 update known not to be due (the XLA step), R1 = 0 without a cond."""
        import tensorflow as tf

        s = self.settings
        inp = self._d_inputs(real, real_labels, batch, given)
        variables = self.discriminator.trainable_variables

        def update(r1_due):
            with tf.GradientTape() as tape:
                out = self._d_losses(inp, r1_due=r1_due)
                scaled = self.d_optimizer.scale_loss(out[0] / replicas)
            return tape.gradient(scaled, variables), out

        if s.r1_gamma > 0 and s.r1_every > 1 and not r1:
            grads, out = update(False)
        elif s.r1_gamma > 0 and s.r1_every > 1:
            # Lazy R1: the cond chooses between two whole updates (loss and gradient each), so no
            # gradient is taken through a cond. The gradient of a cond whose branch holds R1's
            # nested gradient does not compile under XLA (jit_compile): its transposes and slices
            # get non-constant permutations and shapes. Same arithmetic as losses.lazy_r1.
            nones = []  # which outputs the update leaves None (a cond cannot return None)

            def branch(r1_due):
                grads, out = update(r1_due)
                nones[:] = [v is None for v in out]
                return grads, tuple(ops.zeros((), "float32") if v is None else v for v in out)

            grads, out = tf.cond(L.r1_due(self.d_optimizer.iterations, s.r1_every),
                                 lambda: branch(True), lambda: branch(False))
            out = tuple(None if n else v for n, v in zip(nones, out))
        else:
            grads, out = update(None)
        self.d_optimizer.apply(grads, variables)
        return out

    def _g_step(self, batch, replicas, real=None, real_labels=None, r1=True):
        """One G update. With `real` (train.reuse_fakes), the last D update is made first from
        the same fakes (one generator forward for both, as PyTorch's DCGAN example does) and its
        outputs are returned too: (g_loss, d_outputs); otherwise (g_loss, None)."""
        import tensorflow as tf

        zc, cat, cont, fake_labels = sampling.draw_inputs(self.seed_generator, batch, self.settings)
        d_out = None
        with tf.GradientTape() as tape:
            fake = ops.cast(self.generator(self._g_inputs(zc, fake_labels), training=True), "float32")
            if real is not None:
                with tape.stop_recording():
                    d_out = self._d_step(real, real_labels, batch, replicas,
                                         given=(tf.stop_gradient(fake), cat, cont, fake_labels), r1=r1)
            logits, q_cat, q_cont = self._d(self._augment(fake), fake_labels)
            g_loss = self._g_loss(logits, q_cat, q_cont, cat, cont)
            scaled = self.g_optimizer.scale_loss(g_loss / replicas)
        variables = self.generator.trainable_variables
        grads = tape.gradient(scaled, variables)
        self.g_optimizer.apply(grads, variables)
        return g_loss, d_out

    def _tf_train_step(self, data):
        """`train_step` on TensorFlow: the step body, XLA-compiled where it can be (phase.py)."""
        import tensorflow as tf

        from mri_gan.gans import phase

        if self.settings.jit:
            logs = phase.train_body(self, data)
        else:
            logs = self._train_body(data, self._d_step, self._g_step)
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras reduces multi-worker outputs with strategy.reduce(MEAN, v, axis=0), which
            # fails on scalars; the trackers already hold global values, so (1,) is exact.
            logs = {k: tf.reshape(v, [1]) for k, v in logs.items()}
        return logs
