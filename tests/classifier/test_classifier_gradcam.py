"""Grad-CAM: a known answer on a hand-built model, and the planted square found by trained models."""

import numpy as np
import pytest

from mri_gan.config import ClassifierConfig

SQUARE = (slice(4, 12), slice(20, 28))  # rows, cols of the bright 8x8 square of class 1 (top right)


def _planted(n, seed, size=32):
    """Noisy dark slices in [-1, 1]; class 1 carries a bright 8x8 square at SQUARE, class 0 none."""
    rng = np.random.default_rng(seed)
    x = np.clip(-0.5 + 0.25 * rng.normal(size=(n, size, size, 1)), -1, 1).astype("float32")
    y = np.arange(n) % 2
    x[y == 1, SQUARE[0], SQUARE[1], 0] = np.clip(0.8 + 0.1 * rng.normal(size=(int((y == 1).sum()), 8, 8)), -1, 1)
    return x, y


def _peaks_inside(heat) -> float:
    """Share of heat maps whose maximum lies inside the square."""
    rows, cols = np.unravel_index(heat.reshape(len(heat), -1).argmax(axis=1), heat.shape[1:])
    inside = (rows >= SQUARE[0].start) & (rows < SQUARE[0].stop) & (cols >= SQUARE[1].start) & (cols < SQUARE[1].stop)
    return float(inside.mean())


def test_grad_cam_known_answer_on_a_fixed_model():
    """conv = ReLU(x) (1x1, weight 1) -> GAP -> logit_1 = feature, logit_0 = -feature: the gradient of
    logit_1 is 1/(H W) everywhere, so Grad-CAM of class 1 = ReLU(x) / max; of class 0 it is all 0."""
    import keras

    from mri_gan.classifier.gradcam import grad_cam, target_layer

    inp = keras.Input((8, 8, 1))
    a = keras.layers.Conv2D(1, 1, activation="relu", name="conv", kernel_initializer="ones")(inp)
    g = keras.layers.GlobalAveragePooling2D()(a)
    f = keras.layers.Dense(1, name="features", kernel_initializer="ones")(g)
    out = keras.layers.Dense(2, activation="softmax", name="probabilities")(f)
    model = keras.Model(inp, out)
    model.get_layer("probabilities").set_weights([np.array([[-1.0, 1.0]], "float32"), np.zeros(2, "float32")])
    x = np.random.default_rng(0).uniform(-1, 1, (3, 8, 8, 1)).astype("float32")
    assert target_layer(model) == "conv"
    heat, cls = grad_cam(model, x, class_index=1)
    want = np.maximum(x[..., 0], 0) / np.maximum(x[..., 0], 0).max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(heat, want, atol=1e-5)
    assert list(cls) == [1, 1, 1]
    heat0, _ = grad_cam(model, x, class_index=0)
    assert np.all(heat0 == 0)
    # predicted class by default: every mean of ReLU(x) > 0 makes logit_1 > logit_0
    assert list(grad_cam(model, x)[1]) == [1, 1, 1]


def test_target_layer_of_paper_and_strong_models():
    from mri_gan.classifier.gradcam import target_layer
    from mri_gan.models.classifier import build_classifier

    assert target_layer(build_classifier(ClassifierConfig(filters=[8, 16]), 32, 2)) == "conv2"
    strong = build_classifier(ClassifierConfig.from_preset("strong", filters=[8, 16]), 32, 2)
    assert target_layer(strong) == "conv2_2_relu"  # the rectified maps after conv -> BatchNorm -> ReLU


def _train(cfg, epochs, seed=0, n=384, batch=16):
    import keras

    from mri_gan.models.classifier import build_classifier, build_loss, build_optimizer

    keras.utils.set_random_seed(seed)
    x, y = _planted(n, seed=1)
    model = build_classifier(cfg, 32, 2)
    model.compile(optimizer=build_optimizer(cfg, n // batch, epochs), loss=build_loss(cfg), metrics=["accuracy"])
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
    return model


@pytest.mark.parametrize("preset, epochs", [("paper", 3), ("strong", 8)])
def test_heat_map_peak_inside_the_planted_square(preset, epochs, tmp_path):
    from mri_gan.classifier.gradcam import grad_cam, write_explanations
    from mri_gan.data.pipeline import to_uint8

    cfg = ClassifierConfig.from_preset(preset, filters=[8, 16])
    if preset == "strong":
        # flips would move the square to the other corner; BatchNorm's moving statistics need
        # a few hundred steps (momentum 0.99): 8 epochs x 24 steps
        cfg.augment = False
    model = _train(cfg, epochs)
    x, y = _planted(64, seed=2)
    probs = np.asarray(model.predict(x, verbose=0))
    assert (probs.argmax(axis=1) == y).mean() >= 0.95, "the classifier did not learn the planted square"
    heat, cls = grad_cam(model, x[y == 1])
    assert np.all(cls == 1) and heat.shape == (32, 32, 32) and heat.max() == pytest.approx(1.0)
    assert _peaks_inside(heat) >= 0.9
    paths = write_explanations(model, to_uint8(x[:3, ..., 0]), ["a.jpg", "b.png", "a.png"], tmp_path / "cam",
                               ["none", "square"], probs[:3])
    assert [p.name for p in paths] == ["a_gradcam.png", "b_gradcam.png", "a_2_gradcam.png"]
    assert all(p.stat().st_size > 500 for p in paths)
