"""The GAN's train step on TensorFlow: a mixin of `mri_gan.gans.gan.GAN`.

`_d_step` and `_g_step` are stateful updates under `tf.GradientTape`; each replica's loss is
divided by the number of replicas before the gradients are summed across them (`tf.distribute`).
`_tf_train_body` runs `GAN._train_body` with them, as one XLA-compiled function where the step has
no R1 update (`train.jit_compile`), else as a plain graph; inside the XLA function the stride-2
convolutions run in phase form (`mri_gan.models.phase_conv`). The JAX step is
`mri_gan.gans.jax_step.JaxSteps`; both share the losses, sampling, augmentation and `_train_body`.
"""

from __future__ import annotations

from keras import ops


class TfSteps:
    """`_d_step`, `_g_step`, `_tf_train_step` and `_tf_train_body` of `GAN` on TensorFlow."""

    def _d_step(self, real, real_labels, batch, replicas, given=None, r1=True):
        """One D update; `given` = (fake, cat, cont, fake_labels) reuses fakes drawn by the caller.
        `r1=False`: a lazy-R1 update known not to be due (the XLA step), R1 = 0 without a cond."""
        import tensorflow as tf

        fake, cat, cont, fake_labels = self._fakes_for_d(batch, given)
        labels = ops.concatenate([real_labels, fake_labels], axis=0) if self.conditional else None
        x = self._augment(ops.concatenate([real, fake], axis=0))  # no gradient: D's weights are not in it
        alpha = self._alpha(batch)
        variables = self.discriminator.trainable_variables

        def update(r1_due):
            with tf.GradientTape() as tape:
                out = self._d_losses(x, labels, real_labels, batch, cat, cont, alpha, r1_due=r1_due)
                scaled = self.d_optimizer.scale_loss(out[0] / replicas)
            return tape.gradient(scaled, variables), out

        if self.r1_gamma > 0 and self.r1_every > 1 and not r1:
            grads, out = update(False)
        elif self.r1_gamma > 0 and self.r1_every > 1:
            # Lazy R1: the cond chooses between two whole updates (loss and gradient each), so no
            # gradient is taken through a cond. The gradient of a cond whose branch holds R1's
            # nested gradient does not compile under XLA (jit_compile): its transposes and slices
            # get non-constant permutations and shapes. Same arithmetic as `_r1`'s cond.
            nones = []  # which outputs the update leaves None (a cond cannot return None)

            def branch(r1_due):
                grads, out = update(r1_due)
                nones[:] = [v is None for v in out]
                return grads, tuple(ops.zeros((), "float32") if v is None else v for v in out)

            grads, out = tf.cond(self._r1_due(), lambda: branch(True), lambda: branch(False))
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

        zc, cat, cont, fake_labels = self._sample_inputs(batch)
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
        """`train_step` on TensorFlow: the step body, XLA-compiled where it can be."""
        import tensorflow as tf

        logs = self._tf_train_body(data)

        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras reduces multi-worker outputs with strategy.reduce(MEAN, v, axis=0), which
            # fails on scalars; the trackers already hold global values, so (1,) is exact.
            logs = {k: tf.reshape(v, [1]) for k, v in logs.items()}
        return logs

    def _tf_train_body(self, data):
        """The TensorFlow step. With `jit` (`train.jit_compile`), a step whose D updates include
        no R1 is one XLA-compiled function, and a step with a due lazy-R1 update (every
        `r1_every`-th D update) runs as a plain graph: R1's gradient of a gradient compiles to
        convolutions that XLA:CPU runs ~10x slower than TensorFlow's kernels (BENCHMARKS.md),
        while the rest of the step runs faster under XLA on the speed issue's CPU. The same
        arithmetic either way, to float rounding."""
        if not self.jit:
            return self._train_body(data, self._d_step, self._g_step)
        import functools

        import tensorflow as tf

        lazy = self.r1_gamma > 0 and self.r1_every > 1
        if self.r1_gamma > 0 and not lazy:  # R1 on every update: nothing to compile
            return self._train_body(data, self._d_step, self._g_step)
        if self._xla_body is None:
            from mri_gan.models.phase_conv import phase_convs

            def body(d):
                with phase_convs():  # traced once: the compiled step holds the phase forms
                    return self._train_body(d, functools.partial(self._d_step, r1=False),
                                            functools.partial(self._g_step, r1=False))

            self._xla_body = tf.function(body, jit_compile=True, autograph=False)
        if not lazy:
            return self._xla_body(data)
        it = ops.convert_to_tensor(self.d_optimizer.iterations)
        # this step's D updates use iterations it .. it + n_critic - 1: is one of them a multiple of N?
        due = ops.less(ops.mod(self.r1_every - ops.mod(it, self.r1_every), self.r1_every), self.n_critic)
        return tf.cond(due, lambda: self._train_body(data, self._d_step, self._g_step),
                       lambda: self._xla_body(data))
