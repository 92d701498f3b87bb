"""Augmentations applied to BOTH real and generated images before the discriminator, so a GAN
trained on a few hundred images does not let D memorise the training set.

- `diff_augment`: DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for
  Data-Efficient GAN Training"): always on, random per image, differentiable so G's gradient
  passes through the augmentation of its fakes.
- `ada_augment` + `ada_update`: adaptive discriminator augmentation (Karras et al. 2020,
  "Training Generative Adversarial Networks with Limited Data"): each transform is applied to
  each image with probability p, and p follows an overfitting heuristic r_t = E[sign(D(x))].

Images are (B, H, W, C) float in [-1, 1] with a black background at -1. All randomness is
stateless, drawn from a (2,) integer `seed` (e.g. `keras.random.SeedGenerator.next()`) through
`mri_gan.gans.rng`, so the same seed gives the same augmentation and a resumed run reproduces the
same draws. Written in `keras.ops`: one implementation for TensorFlow and JAX (the draws of one
seed differ between the two backends, see rng.py).

Padding/cutout fill: the original DiffAugment code fills with 0, which in [-1, 1] images is
mid-grey; MRI slices have a black (-1) background, so we fill with -1 ("zero intensity"):
a shifted or cut-out head then looks like a head next to more background, not like a grey
slab that D could use as a tell.
"""

from __future__ import annotations

from keras import ops

from mri_gan.errors import MriGanError
from mri_gan.gans import rng

FILL = -1.0  # value of black in [-1, 1] images: used for translation padding and cutout


# --- helpers ------------------------------------------------------------------------------


def _seeds(seed, n: int):
    """Split one (2,) seed into n independent stateless seeds, shape (n, 2)."""
    return rng.split(seed, n)


def _shift(x, ty, tx, fill=FILL):
    """Translate each image by integer (ty, tx) px (shape (B,)), filling exposed pixels with `fill`.

    out[b, y, x] = in[b, y - ty[b], x - tx[b]]. Gather-based, so the gradient w.r.t. x flows.
    """
    h, w = x.shape[1], x.shape[2]
    c = x.shape[3]
    xp = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=fill)
    # index 0 and h+1 of the padded image are fill rows; out-of-range sources are clipped onto them
    iy = ops.clip(ops.arange(h, dtype="int32")[None, :] - ops.cast(ty, "int32")[:, None] + 1, 0, h + 1)
    ix = ops.clip(ops.arange(w, dtype="int32")[None, :] - ops.cast(tx, "int32")[:, None] + 1, 0, w + 1)
    b = ops.shape(x)[0]
    rows = ops.take_along_axis(xp, ops.broadcast_to(iy[:, :, None, None], (b, h, w + 2, c)), axis=1)
    return ops.take_along_axis(rows, ops.broadcast_to(ix[:, None, :, None], (b, h, w, c)), axis=2)


def _per(x, group: int):
    """(number of draws, expand) for one draw per image (group 1) or per `group` consecutive images."""
    b = ops.shape(x)[0]
    if group <= 1:
        return b, lambda v: v
    return b // group, lambda v: ops.repeat(v, group, axis=0)


def _translate(x, seed, ratio, group: int = 1):
    """Random integer translation by up to `ratio` of the side in each direction."""
    n, expand = _per(x, group)
    h, w = x.shape[1], x.shape[2]
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    s = _seeds(seed, 2)
    ty = expand(rng.uniform([n], s[0], minval=-sy, maxval=sy + 1, dtype="int32"))
    tx = expand(rng.uniform([n], s[1], minval=-sx, maxval=sx + 1, dtype="int32"))
    return _shift(x, ty, tx)


def _cutout(x, seed, ratio, group: int = 1):
    """Set one random square of side `ratio` * image side (may cross the border) to black."""
    n, expand = _per(x, group)
    h, w = x.shape[1], x.shape[2]
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    s = _seeds(seed, 2)
    # centres as in Zhao et al.'s reference code: the square may stick out of the image
    cy = expand(rng.uniform([n, 1, 1], s[0], minval=0, maxval=h + (1 - ch % 2), dtype="int32"))
    cx = expand(rng.uniform([n, 1, 1], s[1], minval=0, maxval=w + (1 - cw % 2), dtype="int32"))
    return _cut(x, cy, cx, ch, cw)


def _cut(x, cy, cx, ch: int, cw: int):
    """Black out the ch x cw square centred at (cy, cx) (int (B, 1, 1) each) of every image."""
    h, w = x.shape[1], x.shape[2]
    ys = ops.arange(h, dtype="int32")[None, :, None]
    xs = ops.arange(w, dtype="int32")[None, None, :]
    inside = (ys >= cy - ch // 2) & (ys < cy - ch // 2 + ch) & (xs >= cx - cw // 2) & (xs < cx - cw // 2 + cw)
    mask = ops.cast(ops.logical_not(inside), x.dtype)[..., None]  # (B, H, W, 1): 0 inside the square
    return x * mask + FILL * (1.0 - mask)


def _brightness_add(x, delta):
    return x + ops.cast(delta, x.dtype)[:, None, None, None]


def _contrast_scale(x, factor):
    mean = ops.mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * ops.cast(factor, x.dtype)[:, None, None, None] + mean


# --- DiffAugment ----------------------------------------------------------------------------


def _color(x, seed, group: int = 1):
    """DiffAugment's 'color' for grayscale: brightness U(-0.5, 0.5) added, then contrast
    U(0.5, 1.5) around each image's mean. The third colour op of the paper, saturation, is
    skipped: it scales each pixel's distance to its mean over CHANNELS, which is zero on a
    one-channel image, so it would be the identity."""
    n, expand = _per(x, group)
    s = _seeds(seed, 2)
    x = _brightness_add(x, expand(rng.uniform([n], s[0], -0.5, 0.5)))
    return _contrast_scale(x, expand(rng.uniform([n], s[1], 0.5, 1.5)))


_DIFF_OPS = {
    "color": _color,
    "translation": lambda x, seed, group=1: _translate(x, seed, 1 / 8, group),
    "cutout": lambda x, seed, group=1: _cutout(x, seed, 1 / 2, group),
}


def parse_policy(policy: str) -> list[str]:
    """'translation,cutout,color' -> ['translation', 'cutout', 'color'] (validated)."""
    names = [p.strip() for p in (policy or "").split(",") if p.strip()]
    for n in names:
        if n not in _DIFF_OPS:
            raise MriGanError(f"unknown DiffAugment op {n!r} in policy {policy!r} (ops: {', '.join(_DIFF_OPS)})")
    return names


def diff_augment(x, policy: str, seed, group: int = 1):
    """DiffAugment (Zhao et al. 2020) of a batch x (B, H, W, C) in [-1, 1].

    policy: comma-separated ops, applied in the paper's order color -> translation -> cutout
    whatever order they are listed in: `color` (brightness + contrast, see `_color`),
    `translation` (up to 1/8 of the side, filled with black), `cutout` (a square of half the
    side set to black). "" returns x unchanged. Output is NOT clipped (as in the paper: clipping
    would cut the gradient at saturated pixels); translation and cutout stay in [-1, 1].
    Differentiable w.r.t. x; the same seed gives the same result.

    group > 1: one draw per `group` consecutive images (the batch must be a multiple of it), so
    images that D compares with each other (a minibatch-stddev group, a PacGAN pack) get the same
    shift, cutout and colour change: their differences are then the images' own, not the
    augmentation's. Drawn per image, the augmentation alone makes copies of one image differ by
    as much as distinct slices do, and hides a collapsed generator from those D features.
    """
    names = parse_policy(policy)
    if not names:
        return x
    seeds = _seeds(seed, len(_DIFF_OPS))
    for i, name in enumerate(_DIFF_OPS):  # fixed order, independent seed per op
        if name in names:
            x = _DIFF_OPS[name](x, seeds[i], group)
    return x


# --- ADA ------------------------------------------------------------------------------------


def ada_augment(x, p, seed, group: int = 1):
    """Adaptive discriminator augmentation (Karras et al. 2020) of x (B, H, W, C) in [-1, 1].

    Each of these transforms is applied to each image independently with probability p
    (as in the paper's pipeline), in this order:
      1. horizontal flip: a brain is roughly left-right symmetric and tumours occur on either
         side, so a mirrored slice is a plausible slice;
      2. integer translation up to 1/8 of the side (black fill): heads are not perfectly
         centred after cropping;
      3. brightness: + N(0, 0.2) (the paper's std);
      4. contrast: x lognormal(0, 0.5 ln 2) around the image mean (the paper's std) — scanners
         and windowing vary in brightness and contrast;
      5. cutout of half the side (black).
    Left out on purpose: 90-degree rotations and vertical flips (MRI slices are stored
    upright; a rotated head is not a plausible real image and would "leak" into G once p is
    large), hue/saturation (one channel), and geometric resampling (blurs fine texture at
    64 px). p = 0 returns x exactly. Differentiable w.r.t. x.

    group > 1: every draw (whether a transform fires, and its parameters) is made once per
    `group` consecutive images, as `diff_augment` does: the images D compares with each other
    (a PacGAN pack, a minibatch-stddev group) then differ only by their own content. Drawn per
    image, the augmentation makes two copies of one fake look as different as two real slices
    and hides a collapsed generator from D (docs/history.md, "Ending the collapse").
    """
    n, expand = _per(x, group)
    s = _seeds(seed, 10)

    def maybe(i, y, aug):
        keep = expand(rng.uniform([n], s[i]) < ops.cast(p, "float32"))
        return ops.where(keep[:, None, None, None], aug, y)

    x = maybe(0, x, ops.flip(x, axis=2))
    x = maybe(1, x, _translate(x, s[2], 1 / 8, group))
    x = maybe(3, x, _brightness_add(x, expand(0.2 * rng.normal([n], s[4]))))
    x = maybe(5, x, _contrast_scale(x, expand(ops.exp(0.5 * 0.6931472 * rng.normal([n], s[6])))))
    x = maybe(7, x, _cutout(x, s[8], 1 / 2, group))
    return x


def ada_update(p, real_sign_mean, target, batch_size, interval, speed):
    """One ADA adjustment (Karras et al. 2020, section 3):

        p <- clip(p + sign(r_t - target) * batch_size * interval / speed, 0, 1)

    r_t = E[sign(D(x_real))] over the last `interval` steps; `speed` is the number of
    images over which p can move from 0 to 1. Pure: returns the new p (float32), the caller
    assigns it to its non-trainable variable.
    """
    p = ops.cast(p, "float32")
    step = float(batch_size) * float(interval) / float(speed)
    return ops.clip(p + ops.sign(ops.cast(real_sign_mean, "float32") - float(target)) * step, 0.0, 1.0)


# --- what D sees -----------------------------------------------------------------------------


def for_discriminator(x, seeds, settings, ada_p):
    """D's view of a batch: DiffAugment (`settings.diffaugment`), then ADA at probability `ada_p`
    (`settings.ada`); `seeds` holds one seed per augmentation that is on, in that order."""
    seeds = list(seeds)
    if settings.diffaugment:
        x = diff_augment(x, settings.diffaugment, seeds.pop(0), settings.augment_group)
    if settings.ada:
        x = ada_augment(x, ops.convert_to_tensor(ada_p), seeds.pop(0), settings.augment_group)
    return x
