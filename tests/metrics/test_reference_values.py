"""Metric values pinned against independent references and hand-computed numbers.

Every reference here is written plainly (loops over points, np.sort of distances, the textbook
formula) and shares no code with `mri_gan.metrics.distribution`, so an off-by-one in a radius,
a wrong normaliser or a wrong kernel exponent changes a pinned number and fails a test.
"""

import math

import numpy as np
import pytest
from scipy import linalg

from mri_gan.metrics import distribution as dist

# --- precision / recall / density / coverage -----------------------------------------------


def ref_knn_radius(x, i, k):
    """Distance from point i to its k-th nearest OTHER point, by brute force."""
    others = [np.sqrt(np.sum((x[i] - x[j]) ** 2)) for j in range(len(x)) if j != i]
    return np.sort(others)[k - 1]


def ref_prdc(real, fake, k):
    """Kynkäänniemi et al. 2019 (precision, recall) and Naeem et al. 2020 (density, coverage),
    written out with loops over points."""
    real, fake = np.asarray(real, float), np.asarray(fake, float)
    r_real = [ref_knn_radius(real, i, k) for i in range(len(real))]
    r_fake = [ref_knn_radius(fake, j, k) for j in range(len(fake))]

    def dd(a, b):
        return np.sqrt(np.sum((a - b) ** 2))

    # precision: share of fakes inside at least one real ball
    precision = np.mean([any(dd(f, real[i]) <= r_real[i] for i in range(len(real))) for f in fake])
    # recall: share of reals inside at least one fake ball
    recall = np.mean([any(dd(r, fake[j]) <= r_fake[j] for j in range(len(fake))) for r in real])
    # density: (1 / (k M)) * sum over fakes of the number of real balls containing it
    count = sum(sum(dd(f, real[i]) <= r_real[i] for i in range(len(real))) for f in fake)
    density = count / (k * len(fake))
    # coverage: share of real balls holding at least one fake
    coverage = np.mean([any(dd(real[i], f) <= r_real[i] for f in fake) for i in range(len(real))])
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_knn_radii_match_brute_force(k):
    rng = np.random.default_rng(10 + k)
    x = rng.normal(size=(17, 3))
    ref = [ref_knn_radius(x, i, k) for i in range(len(x))]
    np.testing.assert_allclose(dist.knn_radii(x, k), ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("k,n_real,n_fake,d,shift", [(1, 20, 15, 2, 0.0), (2, 25, 30, 3, 0.5), (3, 30, 20, 5, 1.0), (5, 40, 35, 4, 0.3)])
def test_prdc_matches_brute_force(k, n_real, n_fake, d, shift):
    # Continuous random points: no distance ties a radius exactly, so `<=` vs `<` cannot matter.
    rng = np.random.default_rng(100 * k + d)
    real = rng.normal(size=(n_real, d))
    fake = rng.normal(loc=shift, scale=1.3, size=(n_fake, d))
    got = dist.precision_recall_density_coverage(real, fake, k=k)
    ref = ref_prdc(real, fake, k)
    for key in ("precision", "recall", "density", "coverage"):
        assert got[key] == pytest.approx(ref[key], rel=1e-12, abs=1e-12), key


def test_prdc_hand_computed_points_on_a_line():
    # 1-D integer points, k = 2 (all distances are exact integers; none equals a radius).
    #   real R = {3, 4, 6, 11}; distances to the others, sorted, 2nd one = radius:
    #     3: {1, 3, 8} -> 3      4: {1, 2, 7} -> 2      6: {2, 3, 5} -> 3      11: {5, 7, 8} -> 7
    #   real balls: [0, 6], [2, 6], [3, 9], [4, 18]
    #   fake F = {11, 12, 17, 19}:
    #     11: {1, 6, 8} -> 6     12: {1, 5, 7} -> 5     17: {2, 5, 6} -> 5     19: {2, 7, 8} -> 7
    #   fake balls: [5, 17], [7, 17], [12, 22], [12, 26]
    # Real balls containing each fake: 11 -> {11's}, 12 -> {11's}, 17 -> {11's}, 19 -> none: counts 1, 1, 1, 0.
    #   precision = 3/4 = 0.75; density = (1 + 1 + 1 + 0) / (k * M) = 3 / (2 * 4) = 0.375
    #   coverage = real balls holding a fake: only 11's -> 1/4 = 0.25
    #   recall = reals inside a fake ball: 3 no, 4 no, 6 yes ([5, 17]), 11 yes -> 2/4 = 0.5
    # (With radii from the 3rd neighbour instead: 1.0, 1.0, 0.583.., 1.0; dividing by k + 1: density 0.25.)
    real = np.array([[3.0], [4.0], [6.0], [11.0]])
    fake = np.array([[11.0], [12.0], [17.0], [19.0]])
    np.testing.assert_allclose(dist.knn_radii(real, 2), [3.0, 2.0, 3.0, 7.0])
    np.testing.assert_allclose(dist.knn_radii(fake, 2), [6.0, 5.0, 5.0, 7.0])
    got = dist.precision_recall_density_coverage(real, fake, k=2)
    assert got["precision"] == pytest.approx(0.75)
    assert got["recall"] == pytest.approx(0.5)
    assert got["density"] == pytest.approx(0.375)
    assert got["coverage"] == pytest.approx(0.25)
    assert ref_prdc(real, fake, 2) == pytest.approx(got)


def test_density_hand_computed_identical_sets():
    # real = fake = {0, 1, 2} on a line, k = 1: radii 1, 1, 1 (nearest other point).
    # Balls [-1, 1], [0, 2], [1, 3]; fake 0 is in 2 balls, fake 1 in 3, fake 2 in 2:
    # density = (2 + 3 + 2) / (1 * 3) = 7/3; precision = recall = coverage = 1.
    x = np.array([[0.0], [1.0], [2.0]])
    got = dist.precision_recall_density_coverage(x, x.copy(), k=1)
    assert got == pytest.approx({"precision": 1.0, "recall": 1.0, "density": 7.0 / 3.0, "coverage": 1.0})


# --- Fréchet distance -----------------------------------------------------------------------


def ref_fd(mu1, s1, mu2, s2):
    """|mu1 - mu2|^2 + tr(S1 + S2 - 2 sqrtm(S1 S2)) with scipy.linalg.sqrtm."""
    covmean = linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


@pytest.mark.parametrize("d", [1, 4, 10])
def test_fd_matches_scipy_sqrtm(d):
    rng = np.random.default_rng(d)
    a = rng.normal(size=(80, d)) @ rng.normal(size=(d, d))
    b = rng.normal(loc=0.4, size=(60, d)) @ rng.normal(size=(d, d))
    # means and covariances computed here (unbiased, N - 1), not with feature_stats
    mu_a, mu_b = a.sum(0) / len(a), b.sum(0) / len(b)
    s_a = (a - mu_a).T @ (a - mu_a) / (len(a) - 1)
    s_b = (b - mu_b).T @ (b - mu_b) / (len(b) - 1)
    ref = ref_fd(mu_a, s_a, mu_b, s_b)
    assert dist.frechet_distance(a, b) == pytest.approx(ref, rel=1e-7)
    assert dist.frechet_distance_from_stats(mu_a, s_a, mu_b, s_b) == pytest.approx(ref, rel=1e-7)


def test_fd_hand_computed_diagonal_gaussians():
    # Diagonal covariances commute, so sqrt(S1 S2) = diag(sqrt(a_i b_i)) and
    # FD = |mu1 - mu2|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2.
    # mu1 = (0, 0), S1 = diag(1, 4); mu2 = (1, 2), S2 = diag(9, 1):
    # FD = (1 + 4) + (1 - 3)^2 + (2 - 1)^2 = 5 + 4 + 1 = 10.
    got = dist.frechet_distance_from_stats(np.zeros(2), np.diag([1.0, 4.0]), np.array([1.0, 2.0]), np.diag([9.0, 1.0]))
    assert got == pytest.approx(10.0, rel=1e-12)


def test_fd_hand_computed_from_activations():
    # act1 = {-1, 1}: mean 0, unbiased variance ((-1)^2 + 1^2) / 1 = 2
    # act2 = {2, 4, 6}: mean 4, unbiased variance (4 + 0 + 4) / 2 = 4
    # FD = (0 - 4)^2 + (sqrt(2) - sqrt(4))^2 = 16 + 2 - 4 sqrt(2) + 4 = 22 - 4 sqrt(2) = 16.343145750507...
    got = dist.frechet_distance(np.array([[-1.0], [1.0]]), np.array([[2.0], [4.0], [6.0]]))
    assert got == pytest.approx(22.0 - 4.0 * math.sqrt(2.0), rel=1e-12)
    assert got == pytest.approx(16.34314575050762, rel=1e-12)


# --- KID ------------------------------------------------------------------------------------


def ref_kernel(x, y):
    """k(x, y) = (x.y / d + 1)^3, one pair at a time."""
    d = len(x)
    return (sum(x[i] * y[i] for i in range(d)) / d + 1.0) ** 3


def ref_mmd2_unbiased(x, y):
    """Unbiased MMD^2 (Gretton et al. 2012, eq. 3): pairs i != j only inside each set."""
    m, n = len(x), len(y)
    kxx = sum(ref_kernel(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kyy = sum(ref_kernel(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kxy = sum(ref_kernel(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return kxx + kyy - 2.0 * kxy


def test_polynomial_kernel_matches_formula():
    rng = np.random.default_rng(20)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(5, 3))
    ref = np.array([[ref_kernel(a, b) for b in y] for a in x])
    np.testing.assert_allclose(dist.polynomial_kernel(x, y), ref, rtol=1e-12)
    # by hand: x = (1, 2), y = (3, -1): x.y = 1, d = 2 -> (1/2 + 1)^3 = 3.375
    assert dist.polynomial_kernel(np.array([[1.0, 2.0]]), np.array([[3.0, -1.0]]))[0, 0] == pytest.approx(3.375)


def test_mmd2_unbiased_matches_loops():
    rng = np.random.default_rng(21)
    for m, n, d in ((3, 4, 2), (5, 5, 3), (6, 2, 4)):
        x, y = rng.normal(size=(m, d)), rng.normal(loc=0.3, size=(n, d))
        assert dist.mmd2_unbiased(x, y) == pytest.approx(ref_mmd2_unbiased(x, y), rel=1e-10, abs=1e-12)


def test_mmd2_unbiased_hand_computed():
    # d = 1, k(a, b) = (a b + 1)^3; x = {0, 1}, y = {2, 3}
    #   Kxx off-diagonal: k(0, 1) = 1 twice -> 2 / (2 * 1) = 1
    #   Kyy off-diagonal: k(2, 3) = 7^3 = 343 twice -> 343
    #   Kxy: k(0,2) = 1, k(0,3) = 1, k(1,2) = 27, k(1,3) = 64 -> 93 / 4 = 23.25
    #   MMD^2 = 1 + 343 - 2 * 23.25 = 297.5   (a quadratic kernel would give 36.5)
    got = dist.mmd2_unbiased(np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]]))
    assert got == pytest.approx(297.5, rel=1e-12)


def test_kid_on_full_sets_equals_reference():
    # subset_size >= both set sizes: each subset is a permutation of the whole set, and the
    # estimator does not depend on the order, so every subset gives the loop reference.
    rng = np.random.default_rng(22)
    a, b = rng.normal(size=(6, 3)), rng.normal(loc=0.5, size=(7, 3))
    got = dist.kid(a, b[:6], subsets=3, subset_size=100)
    ref = ref_mmd2_unbiased(a, b[:6])
    assert got["mean"] == pytest.approx(ref, rel=1e-10)
    assert got["std"] == pytest.approx(0.0, abs=1e-10)
    assert got["subset_size"] == 6 and got["subsets"] == 3
    # hand case through kid(): the 297.5 of test_mmd2_unbiased_hand_computed
    assert dist.kid(np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]]), subsets=2)["mean"] == pytest.approx(297.5)


# --- GAN losses -------------------------------------------------------------------------------

# logits used below: D(x) = (2, -1) on reals, D(G(z)) = (0.5, -3) on fakes; softplus(t) = log(1 + e^t)
REAL, FAKE = [[2.0], [-1.0]], [[0.5], [-3.0]]


def _sp(t):
    return math.log1p(math.exp(t))


# name -> (expected G loss, expected D loss)
EXPECTED_LOSSES = {
    # G = mean softplus(-fake) = (softplus(-0.5) + softplus(3)) / 2 = (0.474077 + 3.048587) / 2
    # D = mean softplus(-real) + mean softplus(fake)
    #   = (softplus(-2) + softplus(1)) / 2 + (softplus(0.5) + softplus(-3)) / 2 = 0.720095 + 0.511332
    "bce": ((_sp(-0.5) + _sp(3.0)) / 2, (_sp(-2.0) + _sp(1.0)) / 2 + (_sp(0.5) + _sp(-3.0)) / 2),
    # G = 1/2 mean (fake - 1)^2 = 1/2 (0.25 + 16) / 2 = 4.0625
    # D = 1/2 mean (real - 1)^2 + 1/2 mean fake^2 = 1/2 (1 + 4) / 2 + 1/2 (0.25 + 9) / 2 = 1.25 + 2.3125
    "lsgan": (4.0625, 3.5625),
    # G = -mean fake = 1.25;  D = mean fake - mean real = -1.25 - 0.5
    "wgan_gp": (1.25, -1.75),
    # G = -mean fake = 1.25;  D = mean relu(1 - real) + mean relu(1 + fake) = (0 + 2) / 2 + (1.5 + 0) / 2
    "hinge": (1.25, 1.75),
}


def test_bce_expected_numbers():
    g, d = EXPECTED_LOSSES["bce"]
    assert g == pytest.approx(1.7613321678769243, rel=1e-12)
    assert d == pytest.approx(1.2314270171575221, rel=1e-12)


@pytest.mark.parametrize("name", sorted(EXPECTED_LOSSES))
def test_losses_on_known_logits(name):
    losses = pytest.importorskip("mri_gan.gans.losses")
    g_fn, d_fn = losses.LOSSES[name]
    g_exp, d_exp = EXPECTED_LOSSES[name]
    real, fake = np.array(REAL, np.float32), np.array(FAKE, np.float32)
    assert float(np.asarray(g_fn(fake))) == pytest.approx(g_exp, rel=1e-6)
    assert float(np.asarray(d_fn(real, fake))) == pytest.approx(d_exp, rel=1e-6)
