"""The GAN's D and G updates on Keras' JAX backend: a mixin of `mri_gan.gans.gan.GAN`.

On JAX, `GAN.train_step` runs `_jax_train_step(state, data)` inside Keras' own JAX `fit` loop.
That loop threads four lists through its jitted, stateless step (trainable, non-trainable, `self.optimizer`'s and the metrics'
variables) and writes them back into the variables at each epoch end and whenever a callback
reads `callback.model`; it knows one optimizer only. Rather than a second training loop of our
own (callbacks, progress bar, steps_per_execution and `keras.distribution` would all need
re-doing), on JAX the GAN lists both optimizers' variables among its `non_trainable_variables`,
where the ADA state, the SeedGenerator state, BatchNorm statistics and spectral-norm vectors
already are (the EMA copy's weights are among the trainable ones; `self.optimizer` is Keras'
unused default, built over no variable). The step maps every one of those values onto its
variable in one `keras.StatelessScope`, so the same Python as on TensorFlow (forward passes, seed
draws, `optimizer.apply`, EMA and ADA `assign`s, metric updates) runs on the mapped values and
records new ones; only the differentiated passes are `stateless_call`s under `jax.vjp` /
`jax.grad`. Seeds that a differentiated pass needs are drawn before it, in the TF step's order.
One difference: the extra D call inside a gradient penalty (GP, R1) does not advance the
spectral-norm power iteration on JAX (it does on TF); the vector converges either way.
Several JAX devices: `keras.distribution.DataParallel` shards each batch (mri_gan/gans/strategy.py);
the step sees the global batch, so there is no per-replica scaling there.
"""

from __future__ import annotations

import keras
from keras import ops

from mri_gan.gans import sampling


class JaxSteps:
    """`_jax_d_step`, `_jax_g_step`, `_jax_train_step` and the state they thread; the losses,
    sampling, augmentation and `_train_body` they call are `GAN`'s, shared with the TensorFlow step."""

    @staticmethod
    def _values(variables):
        return [v.value for v in variables]  # inside the step's StatelessScope: the mapped values

    @staticmethod
    def _assign(variables, values):
        for v, x in zip(variables, values):
            v.assign(x)

    @property
    def non_trainable_variables(self):
        """On JAX also both optimizers' variables: the state Keras' JAX trainer threads through
        `_jax_train_step` (see the module docstring)."""
        base = super().non_trainable_variables
        if keras.backend.backend() == "tensorflow" or not hasattr(self, "d_optimizer"):
            return base
        seen = {id(v) for v in base}
        return base + [v for v in self.d_optimizer.variables + self.g_optimizer.variables if id(v) not in seen]

    def _jax_d_step(self, real, real_labels, batch, given=None):
        import jax

        inp = self._d_inputs(real, real_labels, batch, given)
        d = self.discriminator
        d_ntv = self._values(d.non_trainable_variables)

        def loss(d_tv):
            box = [d_ntv]

            def call(inputs):  # threads BatchNorm / spectral-norm state from call to call
                out, box[0] = d.stateless_call(d_tv, box[0], inputs, training=True)
                return out

            def critic(inputs):  # the penalties' extra call: its state update is dropped
                return d.stateless_call(d_tv, box[0], inputs, training=True)[0]

            out = self._d_losses(inp, call, critic)
            return self.d_optimizer.scale_loss(out[0]), (out, box[0])

        grads, (out, new_ntv) = jax.grad(loss, has_aux=True)(self._values(d.trainable_variables))
        self._assign(d.non_trainable_variables, new_ntv)
        self.d_optimizer.apply(grads, d.trainable_variables)
        return out

    def _jax_g_step(self, batch, real=None, real_labels=None):
        """As `_g_step`: one generator forward (jax.vjp), the optional reused-fakes D update, then
        G's loss through the updated D."""
        import jax

        zc, cat, cont, fake_labels = sampling.draw_inputs(self.seed_generator, batch, self.settings)
        g, d = self.generator, self.discriminator
        g_inputs = self._g_inputs(zc, fake_labels)

        def forward(g_tv):
            out, ntv = g.stateless_call(g_tv, self._values(g.non_trainable_variables), g_inputs, training=True)
            return ops.cast(out, "float32"), ntv

        fake, pullback, g_ntv = jax.vjp(forward, self._values(g.trainable_variables), has_aux=True)
        self._assign(g.non_trainable_variables, g_ntv)
        d_out = None
        if real is not None:
            d_out = self._jax_d_step(real, real_labels, batch, given=(jax.lax.stop_gradient(fake), cat, cont, fake_labels))
        seeds = self._augment_seeds()
        d_tv, d_ntv = self._values(d.trainable_variables), self._values(d.non_trainable_variables)

        def loss(f):
            box = [d_ntv]

            def call(inputs):
                out, box[0] = d.stateless_call(d_tv, box[0], inputs, training=True)
                return out

            logits, q_cat, q_cont = self._d(self._augment(f, seeds), fake_labels, call)
            g_loss = self._g_loss(logits, q_cat, q_cont, cat, cont)
            return self.g_optimizer.scale_loss(g_loss), (g_loss, box[0])

        d_fake, (g_loss, new_d_ntv) = jax.grad(loss, has_aux=True)(fake)
        self._assign(d.non_trainable_variables, new_d_ntv)
        self.g_optimizer.apply(pullback(d_fake)[0], g.trainable_variables)
        return g_loss, d_out

    def _jax_train_step(self, state, data):
        trainable, non_trainable, optimizer, metrics = state
        pairs = [*zip(self.trainable_variables, trainable), *zip(self.non_trainable_variables, non_trainable),
                 *zip(self.optimizer.variables, optimizer), *zip(self.metrics_variables, metrics)]
        with keras.StatelessScope(state_mapping=pairs) as scope:
            logs = self._train_body(data, self._jax_d_step, self._jax_g_step)

        def now(variables):
            return [scope.get_current_value(v) for v in variables]

        return logs, (now(self.trainable_variables), now(self.non_trainable_variables),
                      now(self.optimizer.variables), now(self.metrics_variables))
