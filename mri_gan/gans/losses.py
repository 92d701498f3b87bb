"""GAN losses as pure functions of discriminator outputs.

Every function takes raw discriminator outputs ("logits": no sigmoid applied), returns a
float32 scalar averaged over the batch, and has no state, so the one `train_step` of
`mri_gan.gans.gan.GAN` can pick a pair by name from `LOSSES`:

    g_loss_fn, d_loss_fn = LOSSES[name]

Notation below: D(x) is the raw output on real images, D(G(z)) on generated ones,
sigma the logistic sigmoid, E the mean over the batch.

Written in `keras.ops`: one implementation for every backend; only the input gradient of the
penalties differs (`tf.GradientTape` on TensorFlow, `jax.grad` on JAX).
"""

from __future__ import annotations

import keras
from keras import ops

from mri_gan.errors import MriGanError


def _f32(x):
    # Under mixed precision D may emit bfloat16/float16; losses are always computed in float32.
    return ops.cast(x, "float32")


# --- non-saturating binary cross-entropy (Goodfellow et al. 2014) -------------------------


def bce_discriminator_loss(real_logits, fake_logits):
    """Binary cross-entropy of the original GAN (Goodfellow et al. 2014, "Generative
    Adversarial Nets", eq. 1), used by the proposed GAN and DCGAN:

        L_D = -E[log sigma(D(x))] - E[log(1 - sigma(D(G(z))))]
            =  E[softplus(-D(x))] + E[softplus(D(G(z)))]

    computed from logits with softplus, which is exact and does not overflow.
    """
    real_logits, fake_logits = _f32(real_logits), _f32(fake_logits)
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def bce_generator_loss(fake_logits):
    """Non-saturating generator loss (Goodfellow et al. 2014, section 3: maximise
    log D(G(z)) instead of minimising log(1 - D(G(z))), which saturates early in training):

        L_G = -E[log sigma(D(G(z)))] = E[softplus(-D(G(z)))]
    """
    return ops.mean(ops.softplus(-_f32(fake_logits)))


# --- least squares (Mao et al. 2017, LSGAN) -----------------------------------------------


def least_squares_discriminator_loss(real_logits, fake_logits):
    """Least-squares discriminator loss (Mao et al. 2017, "Least Squares Generative
    Adversarial Networks", eq. 2 with the 0-1 coding a=0, b=1):

        L_D = 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]

    D's output is used raw (linear output, no sigmoid), as in the paper.
    """
    real_logits, fake_logits = _f32(real_logits), _f32(fake_logits)
    return 0.5 * ops.mean(ops.square(real_logits - 1.0)) + 0.5 * ops.mean(ops.square(fake_logits))


def least_squares_generator_loss(fake_logits):
    """Least-squares generator loss (Mao et al. 2017, eq. 2 with c=1):

        L_G = 1/2 E[(D(G(z)) - 1)^2]
    """
    return 0.5 * ops.mean(ops.square(_f32(fake_logits) - 1.0))


# --- Wasserstein (Arjovsky et al. 2017; Gulrajani et al. 2017, WGAN-GP) -------------------


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """Critic loss of the Wasserstein GAN (Arjovsky et al. 2017, "Wasserstein GAN", eq. 3;
    Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Algorithm 1):

        L_D = E[D(G(z))] - E[D(x)]

    The Lipschitz constraint is NOT part of this function: add
    `gp_weight * wasserstein_gradient_penalty(...)` (WGAN-GP, lambda = 10 in the paper).
    """
    return ops.mean(_f32(fake_logits)) - ops.mean(_f32(real_logits))


def wasserstein_generator_loss(fake_logits):
    """Generator loss of the Wasserstein GAN (Arjovsky et al. 2017):

        L_G = -E[D(G(z))]
    """
    return -ops.mean(_f32(fake_logits))


def wasserstein_gradient_penalty(critic_fn, real, fake, alpha):
    """Two-sided gradient penalty of WGAN-GP (Gulrajani et al. 2017, eq. 3):

        x_hat = x + alpha * (G(z) - x),  alpha ~ U[0, 1] per image
        GP    = E[(||grad_{x_hat} D(x_hat)||_2 - 1)^2]

    Args:
        critic_fn: callable images -> raw critic outputs (B, 1); call the critic with
            `training=True` inside it. If it returns a list (InfoGAN's D), the first
            element is used.
        real, fake: image batches of the same shape (B, H, W, C).
        alpha: (B, 1, 1, 1) uniform [0, 1] values, drawn by the caller (so the caller's
            SeedGenerator owns all randomness).
    Returns the unweighted penalty (multiply by `gan.gp_weight`). It is differentiable
    w.r.t. the critic's weights (the inner tape is nested in the caller's tape). The norm
    uses sqrt(sum + 1e-12) so its gradient stays finite at a zero gradient.
    """
    real, fake, alpha = _f32(real), _f32(fake), _f32(alpha)
    sq = _squared_input_gradient_norms(critic_fn, real + alpha * (fake - real))
    return ops.mean(ops.square(ops.sqrt(sq + 1e-12) - 1.0))


def _squared_input_gradient_norms(critic_fn, x):
    """||grad_x D(x)||^2 per image (B,), differentiable w.r.t. D's weights (a nested tape on
    TensorFlow; on JAX `critic_fn` must be a pure function of x, e.g. a `stateless_call` closing
    over the weights being differentiated). A list output (InfoGAN's D) uses its first element."""

    def total(t):
        out = critic_fn(t)
        if isinstance(out, (list, tuple)):
            out = out[0]
        return ops.sum(_f32(out))  # each image's output depends only on that image

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        grads = jax.grad(total)(x)
    elif backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            out = total(x)
        grads = tape.gradient(out, x)
    else:
        raise MriGanError(f"the GAN trains on the tensorflow and jax backends, not {backend}")
    return ops.sum(ops.square(grads), axis=list(range(1, len(grads.shape))))


def r1_penalty(critic_fn, real):
    """R1 regularizer (Mescheder et al. 2018, "Which Training Methods for GANs do actually
    Converge?", eq. 9): the squared gradient norm of D at the real images,

        R1 = E[ ||grad_x D(x)||^2 ]

    added to D's loss as `gamma / 2 * R1` (`gan.r1_gamma`). Penalising D's slope on the real data
    keeps D from growing steep walls around the training images, which is what StyleGAN2(-ADA)
    pairs with the non-saturating BCE loss. Differentiable w.r.t. D's weights (nested tape).
    """
    return ops.mean(_squared_input_gradient_norms(critic_fn, _f32(real)))


def r1_due(iteration, every: int):
    """Whether D update number `iteration` (0-based) carries the lazy R1 penalty: iteration mod N == 0."""
    return ops.equal(ops.mod(ops.convert_to_tensor(iteration), every), 0)


def lazy_r1(penalty, every: int, iteration):
    """R1 under lazy regularization (Karras et al. 2020, "Analyzing and Improving the Image
    Quality of StyleGAN", sec. 4.1), on D update t with N = `every`:

        R1_lazy(t) = N * R1   if t mod N == 0
                   = 0        otherwise

    so its mean over a run is R1's while its extra backward pass is paid once per N updates.
    `penalty`: a function that computes R1 (called only where it is due); `iteration`: D's
    update count t. N = 1 is plain R1."""
    if every == 1:
        return penalty()
    return ops.cond(r1_due(iteration, every), lambda: float(every) * penalty(), lambda: ops.zeros((), "float32"))


# --- hinge (Lim & Ye 2017, Geometric GAN; Miyato et al. 2018, SN-GAN) ---------------------


def hinge_discriminator_loss(real_logits, fake_logits):
    """Hinge discriminator loss (Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018,
    "Spectral Normalization for GANs", eq. 17):

        L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]
    """
    real_logits, fake_logits = _f32(real_logits), _f32(fake_logits)
    return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))


def hinge_generator_loss(fake_logits):
    """Hinge-GAN generator loss (Miyato et al. 2018, eq. 17; Lim & Ye 2017):

        L_G = -E[D(G(z))]
    """
    return -ops.mean(_f32(fake_logits))


# --- InfoGAN (Chen et al. 2016) -----------------------------------------------------------


def mutual_information_penalty(cat_onehot=None, cat_logits=None, cont_codes=None, cont_pred=None):
    """Variational lower bound on the mutual information I(c; G(z, c)) of InfoGAN (Chen et al.
    2016, "InfoGAN", eq. 5: L_I = E[log Q(c | G(z, c))] + H(c)), returned as a penalty to
    minimise (-L_I without the constant H(c)), added with weight lambda (`gan.info_weight`)
    to both the generator and the Q head's losses:

        penalty = E[ -sum_k c_k log softmax(Q_cat)_k ]            (categorical codes)
                + E[ 1/2 sum_j (c_j - mu_j)^2 ]                  (continuous codes)

    The continuous term is the negative log-likelihood of a factored Gaussian with FIXED
    unit variance, mu = Q's prediction (Chen et al. use a Gaussian Q; we do not learn the
    variance), with its constant 1/2 log(2 pi) per code dropped so a perfect Q gives 0.
    It equals half the per-code squared error summed over codes (NOT the MSE: it sums,
    not averages, over the codes).

    Either part may be left out (None, or zero width when `info_categorical` /
    `info_continuous` is 0).
    """
    total = ops.convert_to_tensor(0.0, dtype="float32")
    if cat_onehot is not None and cat_logits is not None and cat_onehot.shape[-1] != 0:
        total = total + ops.mean(
            keras.losses.categorical_crossentropy(_f32(cat_onehot), _f32(cat_logits), from_logits=True)
        )
    if cont_codes is not None and cont_pred is not None and cont_codes.shape[-1] != 0:
        total = total + ops.mean(0.5 * ops.sum(ops.square(_f32(cont_codes) - _f32(cont_pred)), axis=-1))
    return total


# name -> (generator_loss, discriminator_loss); `gan.loss` (or the kind's default) picks one
LOSSES = {
    "bce": (bce_generator_loss, bce_discriminator_loss),
    "lsgan": (least_squares_generator_loss, least_squares_discriminator_loss),
    "wgan_gp": (wasserstein_generator_loss, wasserstein_discriminator_loss),
    "hinge": (hinge_generator_loss, hinge_discriminator_loss),
}
