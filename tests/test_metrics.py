"""lmlib.metrics: CKA, mutual k-NN, neural collapse, power-law fits, spectra."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lmlib.metrics import fit_power_law, linear_cka, mutual_knn, neural_collapse, spectrum


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def orthogonal(d, seed=0):
    Q, _ = torch.linalg.qr(randn(d, d, seed=seed))
    return Q


# ---------------------------------------------------------------- linear CKA
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cka_invariances(dtype):
    X = randn(200, 10, dtype=dtype)
    Q = orthogonal(10, seed=1).to(dtype)
    assert linear_cka(X, X) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(X, X @ Q) == pytest.approx(1.0, abs=1e-5)
    assert linear_cka(X, -3.5 * X) == pytest.approx(1.0, abs=1e-6)
    assert linear_cka(X, X + 7.0) == pytest.approx(1.0, abs=1e-6)  # centring


def test_cka_symmetric_scale_invariant_and_in_unit_interval():
    X = randn(100, 8, seed=1)
    Y = X[:, :5] @ randn(5, 12, seed=2) + 0.5 * randn(100, 12, seed=3)
    value = linear_cka(X, Y)
    assert 0.0 < value < 1.0
    assert linear_cka(Y, X) == pytest.approx(value, rel=1e-12)
    assert linear_cka(10 * X, 0.1 * Y) == pytest.approx(value, rel=1e-12)
    assert linear_cka(X.numpy(), Y.numpy()) == pytest.approx(value, rel=1e-12)


def test_cka_feature_and_gram_forms_agree():
    # d > n takes the Gram route, n > d the feature route: compare both to a direct formula.
    for n, d1, d2 in [(300, 5, 7), (20, 50, 40)]:
        X, Y = randn(n, d1, seed=4), randn(n, d2, seed=5)
        Hn = torch.eye(n, dtype=torch.float64) - 1.0 / n
        K, L = Hn @ X @ X.T @ Hn, Hn @ Y @ Y.T @ Hn
        direct = (K * L).sum() / (K.norm() * L.norm())
        assert linear_cka(X, Y) == pytest.approx(direct.item(), rel=1e-10)


def test_cka_independent_features_near_zero():
    assert linear_cka(randn(5000, 10, seed=6), randn(5000, 10, seed=7)) < 0.02


# --------------------------------------------------------------- mutual k-NN
def test_mutual_knn_identical_rotated_and_independent():
    X = randn(300, 16, seed=8)
    Q = orthogonal(16, seed=9)
    assert mutual_knn(X, X, k=10) == 1.0
    assert mutual_knn(X, 2.0 * X @ Q + 1.0, k=10) == 1.0
    assert mutual_knn(X, X @ Q, k=10, metric="cosine") == 1.0
    independent = mutual_knn(X, randn(300, 16, seed=10), k=10)
    assert independent < 0.1  # chance level is k/(n-1) ≈ 0.03


def test_mutual_knn_matches_a_loop():
    X, Y = randn(40, 3, seed=11), randn(40, 3, seed=12)
    Y = X + 0.3 * Y
    k = 5
    dx, dy = torch.cdist(X, X), torch.cdist(Y, Y)
    overlaps = []
    for i in range(40):
        nx = [j for j in dx[i].argsort().tolist() if j != i][:k]
        ny = [j for j in dy[i].argsort().tolist() if j != i][:k]
        overlaps.append(len(set(nx) & set(ny)) / k)
    assert mutual_knn(X, Y, k=k) == pytest.approx(np.mean(overlaps), abs=1e-12)


# ----------------------------------------------------------- neural collapse
def simplex_etf(C: int, d: int, seed: int = 0) -> torch.Tensor:
    """C unit vectors in R^d with pairwise cosine −1/(C−1) (rows), randomly rotated."""
    M = (torch.eye(C, dtype=torch.float64) - 1.0 / C) * math.sqrt(C / (C - 1))
    U = orthogonal(d, seed=seed)[:, :C]
    return M @ U.T


def test_neural_collapse_on_perfect_collapse_is_zero():
    C, d, per = 5, 12, 20
    M = simplex_etf(C, d)
    labels = torch.arange(C).repeat_interleave(per)
    features = 3.0 * M[labels] + 0.7  # any scale and global offset
    W = 2.0 * M
    offset = torch.full((d,), 0.7, dtype=torch.float64)
    nc = neural_collapse(features, labels, W=W, b=-W @ offset)  # the bias cancels the offset
    assert set(nc) == {"nc1", "nc2", "nc2_equinorm", "nc2_angles", "nc3", "nc4"}
    for key in ("nc1", "nc2", "nc2_equinorm", "nc2_angles", "nc3"):
        assert nc[key] == pytest.approx(0.0, abs=1e-10), key
    assert nc["nc4"] == 0.0


def test_neural_collapse_grows_with_noise_and_matches_direct_formula():
    C, d, per = 4, 10, 50
    M = simplex_etf(C, d, seed=1)
    labels = torch.arange(C).repeat_interleave(per)
    W = M + 0.2 * randn(C, d, seed=2)
    previous = None
    for sigma in (0.05, 0.3, 1.0):
        features = M[labels] + sigma * randn(C * per, d, seed=3)
        nc = neural_collapse(features, labels, W=W)
        # NC1 = tr(Σ_W Σ_B⁺)/C computed the textbook way (balanced classes).
        means = torch.stack([features[labels == c].mean(0) for c in range(C)])
        Mc = means - means.mean(0)
        within = features - means[labels]
        sigma_w = within.T @ within / len(labels)
        sigma_b = Mc.T @ Mc / C
        direct = torch.trace(sigma_w @ torch.linalg.pinv(sigma_b, hermitian=True)) / C
        assert nc["nc1"] == pytest.approx(direct.item(), rel=1e-8)
        if previous is not None:
            assert nc["nc1"] > 10 * previous["nc1"]
            assert nc["nc2"] > previous["nc2"] and nc["nc4"] >= previous["nc4"]
        previous = nc
    assert previous["nc3"] > 0.01 and previous["nc4"] > 0


def test_neural_collapse_without_classifier_and_arbitrary_labels():
    C, d = 3, 6
    M = simplex_etf(C, d, seed=4)
    labels = torch.tensor([7, 7, 2, 2, 9, 9])  # any integer ids when W is None
    features = M[torch.tensor([0, 0, 1, 1, 2, 2])]
    nc = neural_collapse(features.numpy(), labels.numpy())
    assert nc["nc3"] is None and nc["nc4"] is None
    assert nc["nc1"] == pytest.approx(0.0, abs=1e-12) and nc["nc2"] == pytest.approx(0.0, abs=1e-10)


def test_neural_collapse_coincident_means_give_nan():
    features = torch.ones(6, 3, dtype=torch.float64)
    nc = neural_collapse(features, torch.tensor([0, 1, 2, 0, 1, 2]))
    assert math.isnan(nc["nc1"]) and math.isnan(nc["nc2"])


# ------------------------------------------------------------ fit_power_law
def test_fit_power_law_recovers_exact_exponent():
    x = np.logspace(0, 4, 30)
    exponent, prefactor, r2 = fit_power_law(x, 3.5 * x**-1.42, return_r2=True)
    assert exponent == pytest.approx(-1.42, abs=1e-6)
    assert prefactor == pytest.approx(3.5, rel=1e-6)
    assert r2 == pytest.approx(1.0, abs=1e-12)
    e2, p2 = fit_power_law(torch.tensor(x), torch.tensor(2 * x**0.5))
    assert (e2, p2) == (pytest.approx(0.5, abs=1e-9), pytest.approx(2.0, rel=1e-9))
    assert fit_power_law([1, 2], [1, 4]) == (pytest.approx(2.0), pytest.approx(1.0))


def test_fit_power_law_r2_below_one_on_noise():
    x = np.arange(1, 51, dtype=float)
    y = x**-1.0 * np.exp(0.3 * np.random.default_rng(0).standard_normal(50))
    exponent, _, r2 = fit_power_law(x, y, return_r2=True)
    assert abs(exponent + 1.0) < 0.2 and 0.5 < r2 < 1.0


# ------------------------------------------------------------------ spectrum
def test_spectrum_data_matches_numpy_and_descends():
    X = randn(300, 8, seed=13) * torch.linspace(3, 0.1, 8, dtype=torch.float64) + 5.0
    values = spectrum(X)
    expected = np.sort(np.linalg.eigvalsh(np.cov(X.numpy().T, bias=True)))[::-1]
    assert values.dtype == torch.float64 and values.shape == (8,)
    assert torch.all(values[:-1] >= values[1:])
    np.testing.assert_allclose(values.numpy(), expected, rtol=1e-10)
    raw = spectrum(X, center=False)  # uncentred: the mean dominates
    assert raw[0] > 20 * values[0]
    wide = spectrum(randn(5, 20, seed=14))  # n < d: only n values can be non-zero
    assert wide.shape == (5,) and wide[-1] == pytest.approx(0.0, abs=1e-12)


def test_spectrum_kernel_is_eigenvalues_over_n():
    X = randn(50, 4, seed=15)
    K = torch.exp(-torch.cdist(X, X) ** 2)
    values = spectrum(K, "kernel")
    expected = np.sort(np.linalg.eigvalsh(K.numpy()))[::-1] / 50
    np.testing.assert_allclose(values.numpy(), expected, rtol=1e-9, atol=1e-14)
    assert torch.all(values[:-1] >= values[1:])
    # Centred linear kernel = covariance spectrum (padded with zeros).
    lin = spectrum(X @ X.T, "kernel", center=True)
    torch.testing.assert_close(lin[:4], spectrum(X), rtol=1e-9, atol=1e-12)
    assert spectrum(K.float(), kind="kernel").dtype == torch.float64


# ---------------------------------------------------------------- bad inputs
def test_bad_inputs_raise_naming_the_argument():
    X, Y = randn(20, 3), randn(20, 4)
    with pytest.raises(ValueError, match="X and Y must have the same number of rows"):
        linear_cka(X, Y[:10])
    with pytest.raises(ValueError, match="Y must have 2 dimension"):
        linear_cka(X, Y[:, 0])
    with pytest.raises(TypeError, match="X must be a torch.Tensor or numpy array"):
        linear_cka([[1.0, 2.0]], Y)
    with pytest.raises(ValueError, match="X is constant"):
        linear_cka(torch.ones(20, 3), Y)
    with pytest.raises(ValueError, match="Y must contain only finite"):
        linear_cka(X, Y * float("nan"))
    with pytest.raises(ValueError, match=r"k must be < n"):
        mutual_knn(X, Y, k=20)
    with pytest.raises(ValueError, match="k must be >= 1"):
        mutual_knn(X, Y, k=0)
    with pytest.raises(TypeError, match="k must be an int"):
        mutual_knn(X, Y, k=2.0)
    with pytest.raises(ValueError, match="metric must be one of"):
        mutual_knn(X, Y, metric="manhattan")
    labels = torch.arange(20) % 2
    with pytest.raises(TypeError, match="labels must have an integer dtype"):
        neural_collapse(X, labels.double())
    with pytest.raises(ValueError, match="labels must have one entry per row"):
        neural_collapse(X, labels[:5])
    with pytest.raises(ValueError, match="at least 2 classes"):
        neural_collapse(X, torch.zeros(20, dtype=torch.long))
    with pytest.raises(ValueError, match=r"W must have shape \[C, d=3\]"):
        neural_collapse(X, labels, W=randn(2, 5))
    with pytest.raises(ValueError, match="labels must take every value 0..C-1"):
        neural_collapse(X, labels, W=randn(3, 3))
    with pytest.raises(ValueError, match="b was given without W"):
        neural_collapse(X, labels, b=torch.zeros(2))
    with pytest.raises(ValueError, match="features must have 2 dimension"):
        neural_collapse(X[:, 0], labels)
    with pytest.raises(ValueError, match="y must be positive"):
        fit_power_law([1, 2, 3], [1, -2, 3])
    with pytest.raises(ValueError, match="x must be positive"):
        fit_power_law([0, 2, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="x and y must have the same length"):
        fit_power_law([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 2 points"):
        fit_power_law([1], [1])
    with pytest.raises(ValueError, match="x must not be constant"):
        fit_power_law([2, 2], [1, 3])
    with pytest.raises(ValueError, match="y must contain only finite"):
        fit_power_law([1, 2], [1, float("inf")])
    with pytest.raises(TypeError, match="x must be a sequence"):
        fit_power_law("abc", [1, 2, 3])
    with pytest.raises(ValueError, match="kind must be one of"):
        spectrum(X, kind="covariance")
    with pytest.raises(ValueError, match="matrix must be square"):
        spectrum(X, kind="kernel")
    with pytest.raises(ValueError, match="matrix must be symmetric"):
        spectrum(randn(5, 5), kind="kernel")
    with pytest.raises(TypeError, match="center must be a bool"):
        spectrum(X, center="yes")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_metrics_on_gpu_match_cpu():
    X, Y = randn(200, 8, seed=20), randn(200, 6, seed=21)
    labels = torch.arange(200) % 4
    assert linear_cka(X.cuda().float(), Y.cuda()) == pytest.approx(linear_cka(X, Y), rel=1e-5)
    assert mutual_knn(X.cuda(), Y.cuda()) == mutual_knn(X, Y)
    nc_gpu = neural_collapse(X.cuda(), labels.cuda(), W=randn(4, 8).cuda())
    nc_cpu = neural_collapse(X, labels, W=randn(4, 8))
    assert nc_gpu["nc1"] == pytest.approx(nc_cpu["nc1"], rel=1e-8)
    torch.testing.assert_close(spectrum(X.cuda()).cpu(), spectrum(X))


def test_crossing_time_interpolates_and_flags_never():
    from lmlib.metrics import crossing_time

    t = np.arange(5.0)
    v = np.array([[0, 0], [1, 0], [2, 0], [3, 0], [4, 5]], dtype=float)
    np.testing.assert_allclose(crossing_time(t, v, 2.5), [2.5, 3.5])
    assert crossing_time(t, v[:, 0], 0.0) == 0.0
    assert np.isnan(crossing_time(t, v, 10.0)).all()
    with pytest.raises(ValueError, match="strictly increasing"):
        crossing_time(t[::-1], v, 1.0)
    with pytest.raises(ValueError, match="values must have shape"):
        crossing_time(t, v[:3], 1.0)
