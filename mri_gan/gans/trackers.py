"""The numbers a train step reports (history.jsonl, TensorBoard, the progress bar), as
`keras.metrics.Mean` trackers, which average over an epoch and across replicas.

- d_loss, g_loss; gp, r1, info_loss, ada_p where they apply;
- d_real / d_fake: D's mean score on real / fake images (`score`);
- d_acc_real / d_acc_fake: the share of real (fake) images D puts on the right side of its
  loss's decision threshold; d_margin: mean raw output on real minus on fake (`health`). Both
  near chance / 0 for a stretch of training mean D gives G no signal (fit warns).
"""

from __future__ import annotations

import keras
from keras import ops


def make_trackers(settings) -> dict:
    """name -> Mean for every number a GAN with `settings` reports."""
    names = ["d_loss", "g_loss", "d_real", "d_fake", "d_acc_real", "d_acc_fake", "d_margin"]
    names += [name for name, on in (("gp", settings.gp_weight > 0), ("r1", settings.r1_gamma > 0),
                                    ("info_loss", settings.info_dim > 0), ("ada_p", settings.ada)) if on]
    return {n: keras.metrics.Mean(name=n) for n in names}


def score(loss: str, logits):
    """What d_real / d_fake report: E[sigma(D)] for the bce loss, E[D] (the raw output) otherwise."""
    return ops.mean(ops.sigmoid(logits)) if loss == "bce" else ops.mean(logits)


def health(loss: str, real_logits, fake_logits):
    """(accuracy on real, accuracy on fake, margin) of one D pass:

        acc_real = E[D(x) > t],  acc_fake = E[D(G(z)) < t],  margin = E[D(x)] - E[D(G(z))]

    with the threshold t = 0.5 for lsgan (0-1 targets), the midpoint of the two means for wgan_gp
    (a critic has no fixed threshold) and 0 for logits (bce, hinge)."""
    mr, mf = ops.mean(real_logits), ops.mean(fake_logits)
    if loss == "lsgan":
        thr_r = thr_f = 0.5
    elif loss == "wgan_gp":
        thr_r = thr_f = 0.5 * (mr + mf)
    else:
        thr_r = thr_f = 0.0
    acc_r = ops.mean(ops.cast(real_logits > thr_r, "float32"))
    acc_f = ops.mean(ops.cast(fake_logits < thr_f, "float32"))
    return acc_r, acc_f, mr - mf


def record_d(trackers: dict, loss: str, d_out) -> None:
    """Add one D update's outputs (d_loss, real_logits, fake_logits, gp, info, r1)."""
    d_loss, real_logits, fake_logits, gp, info, r1 = d_out
    trackers["d_loss"].update_state(d_loss)
    trackers["d_real"].update_state(score(loss, real_logits))
    trackers["d_fake"].update_state(score(loss, fake_logits))
    for name, v in zip(("d_acc_real", "d_acc_fake", "d_margin"), health(loss, real_logits, fake_logits)):
        trackers[name].update_state(v)
    for name, v in (("gp", gp), ("r1", r1), ("info_loss", info)):
        if v is not None:
            trackers[name].update_state(v)
