"""Tests for lmlib.spectra: population eigensystems, power-law fits, learning curves, the Haar control."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lmlib.ntk import eigenlearning
from lmlib.spectra import (haar_rotate, kernel_eigensystem, population_learning_curve, power_law_fit,
                           tail_power)


def _population(N=120, d=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(N, d, generator=gen, dtype=torch.float64)
    K = torch.exp(-torch.cdist(x, x) ** 2 / 4)
    Y = torch.sin(x[:, :2]) + 0.3 * x[:, 2:3]
    return K, Y


def test_kernel_eigensystem_reconstructs_kernel_and_target():
    K, Y = _population()
    N = K.shape[0]
    es = kernel_eigensystem(K, Y)
    U, lam, v = es.eigenvectors, es.eigenvalues, es.coefficients
    assert torch.all(lam[:-1] >= lam[1:])
    torch.testing.assert_close(N * (U * lam) @ U.T, K, atol=1e-10, rtol=0)
    phi = U * N**0.5                                   # E_x[φ_i φ_j] = δ_ij under the uniform measure
    torch.testing.assert_close(phi @ v, Y, atol=1e-10, rtol=0)
    with pytest.raises(ValueError, match="one row per point"):
        kernel_eigensystem(K, Y[:-1])
    with pytest.raises(ValueError, match="symmetric"):
        kernel_eigensystem(K + torch.triu(torch.ones_like(K), 1), Y)


def test_power_law_fit_recovers_exponent_and_white_noise_fails():
    k = np.arange(1, 201)
    fit = power_law_fit(3.0 * k ** -1.7, 5, 150)
    assert fit.alpha == pytest.approx(1.7) and fit.r2 == pytest.approx(1.0) and fit.passes()
    flat = power_law_fit(1.0 + 0.01 * np.cos(k), 3, 30)
    assert not flat.passes()
    with pytest.raises(ValueError, match="kmin"):
        power_law_fit(k ** -1.0, 30, 3)


def test_tail_power_sums_from_the_end():
    v = torch.tensor([[3.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    torch.testing.assert_close(tail_power(v), torch.tensor([15.0, 6.0, 2.0], dtype=torch.float64))


def test_learning_curve_interpolates_and_matches_eigenlearning_at_small_n():
    K, Y = _population(N=150)
    es = kernel_eigensystem(K, Y)
    ns = [10, 20]
    curve = population_learning_curve(K, Y, ns, seeds=list(range(20))).mean(0)
    pred = eigenlearning(es.eigenvalues, es.coefficients, ns, ridge=0.0)["test_mse"]
    np.testing.assert_allclose(curve, pred, rtol=0.25)
    assert curve[1] < curve[0]
    with pytest.raises(ValueError, match="n must be"):
        population_learning_curve(K, Y, [150], seeds=[0])


def test_haar_rotation_keeps_eigenvalues_and_coefficients():
    K, Y = _population(N=80)
    KR, YR = haar_rotate(K, Y, seed=3)
    a, b = kernel_eigensystem(K, Y), kernel_eigensystem(KR, YR)
    torch.testing.assert_close(a.eigenvalues, b.eigenvalues, atol=1e-10, rtol=0)
    torch.testing.assert_close(a.coefficients.abs(), b.coefficients.abs(), atol=1e-8, rtol=0)
    # A rotated eigenvector is generic: its entries are spread over all points.
    ipr = 80 * (b.eigenvectors ** 4).sum(0)
    assert float(ipr.median()) == pytest.approx(3.0, abs=0.6)
