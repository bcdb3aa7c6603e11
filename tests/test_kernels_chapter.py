"""Tests for what the kernels chapter added: the centred network, the linearised-GD closed form,
hypercube eigensystems for Walsh targets, and measured kernel learning curves."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lmlib.ensemble import train_ensemble
from lmlib.models import MLP
from lmlib.models.centered import Centered
from lmlib.ntk import eigenlearning, empirical_ntk, kernel_learning_curve, kernel_regression
from lmlib.theory.kernels import hypercube, relu_ntk, relu_ntk_dot, walsh, walsh_subsets
from lmlib.theory.linearised import gd_kernel_predictions, hypercube_eigensystem


def test_centered_starts_at_zero_and_keeps_the_ntk():
    net = MLP((5, 64, 1), parameterization="ntk", seed=3).double()
    c = Centered(net)
    x = torch.randn(7, 5, dtype=torch.float64)
    assert c(x).abs().max() == 0.0
    assert torch.allclose(empirical_ntk(c, x), empirical_ntk(net, x), atol=1e-12)
    assert all(not p.requires_grad for p in c.init.parameters())


def test_centered_trains_in_an_ensemble_and_the_init_stays_frozen():
    x = torch.randn(16, 4)
    y = torch.randn(16, 1)
    nets = [Centered(MLP((4, 32, 1), parameterization="ntk", seed=i)) for i in range(2)]
    hist = train_ensemble(nets, x, y, lr=0.5, steps=50)
    assert hist.loss[-1].max() < 0.5 * hist.loss[0].min()
    for name, t in hist.params.items():
        if name.startswith("init."):
            assert torch.equal(t[0], dict(nets[0].named_parameters())[name])


def test_centered_rejects_non_modules():
    with pytest.raises(TypeError, match="model"):
        Centered(lambda x: x)


def _problem(n=12, m=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n + m, 3, generator=g, dtype=torch.float64)
    K = relu_ntk(x)
    y = torch.randn(n, generator=g, dtype=torch.float64)
    return K[:n, :n], y, K[n:, :n]


def test_gd_predictions_match_iterated_gradient_descent():
    Ktr, y, Kte = _problem()
    lr, steps, n = 0.7, 37, len(y)
    # Iterate the linearised model directly: f(X) and f(x_test) move with the kernel.
    f_tr, f_te = torch.zeros(n, dtype=torch.float64), torch.zeros(Kte.shape[0], dtype=torch.float64)
    for _ in range(steps):
        r = f_tr - y
        f_tr, f_te = f_tr - lr / n * Ktr @ r, f_te - lr / n * Kte @ r
    assert torch.allclose(gd_kernel_predictions(Ktr, y, Kte, lr, steps), f_te, atol=1e-10)
    assert torch.allclose(gd_kernel_predictions(Ktr, y, Ktr, lr, steps), f_tr, atol=1e-10)


def test_gd_predictions_infinite_time_is_kernel_regression():
    Ktr, y, Kte = _problem()
    assert torch.allclose(gd_kernel_predictions(Ktr, y, Kte, 0.5, None), kernel_regression(Ktr, y, Kte), atol=1e-8)
    assert gd_kernel_predictions(Ktr, y, Kte, 0.5, 0).abs().max() == 0.0


def test_gd_predictions_validate():
    Ktr, y, Kte = _problem()
    with pytest.raises(ValueError, match="lr"):
        gd_kernel_predictions(Ktr, y, Kte, -1.0, 3)
    with pytest.raises(ValueError, match="steps"):
        gd_kernel_predictions(Ktr, y, Kte, 0.1, -2)
    with pytest.raises(ValueError, match="K_test_train"):
        gd_kernel_predictions(Ktr, y, Kte[:, :-1], 0.1, 3)


def test_hypercube_eigensystem_matches_the_gram_matrix():
    d = 5
    lam, v = hypercube_eigensystem(relu_ntk_dot, d, {(1, 3): 2.0, (0,): -1.0})
    x = hypercube(d, dtype=torch.float64)
    phi = walsh(x, walsh_subsets(d))                         # orthonormal: φᵀφ / 2^d = I
    K = relu_ntk(x)
    assert np.allclose(np.diag(phi.T @ K @ phi / 4**d), lam, atol=1e-12)
    y = 2.0 * x[:, 1] * x[:, 3] - x[:, 0]
    assert np.allclose((phi.T @ y / 2**d).numpy(), v, atol=1e-12)


def test_hypercube_eigensystem_validates():
    with pytest.raises(ValueError, match="subsets"):
        hypercube_eigensystem(relu_ntk_dot, 4, {(0, 7): 1.0})
    with pytest.raises(TypeError, match="mapping"):
        hypercube_eigensystem(relu_ntk_dot, 4, [(0,)])


def test_kernel_learning_curve_matches_single_solves_and_eigenlearning():
    d = 6
    x = hypercube(d, dtype=torch.float64)
    K = relu_ntk(x)
    y = x[:, 0] * x[:, 1]
    errs = kernel_learning_curve(K, y, [8, 24], draws=60, seed=4)
    assert errs.shape == (2, 60)
    # Reproduce one draw by hand: the same generator call gives the same training set.
    g = torch.Generator().manual_seed(4)
    idx = torch.argsort(torch.rand(60, 2**d, generator=g), dim=1)[0, :8]
    by_hand = ((kernel_regression(K[idx][:, idx], y[idx], K[:, idx]) - y) ** 2).mean()
    assert math.isclose(errs[0, 0], float(by_hand), rel_tol=1e-9)
    lam, v = hypercube_eigensystem(relu_ntk_dot, d, {(0, 1): 1.0})
    theory = eigenlearning(lam, v, [8, 24])["test_mse"]
    assert np.all(np.abs(errs.mean(1) / theory - 1) < 0.15)


def test_kernel_learning_curve_validates():
    K = torch.eye(4, dtype=torch.float64)
    with pytest.raises(ValueError, match="population"):
        kernel_learning_curve(K, torch.ones(4), [5], draws=2)
    with pytest.raises(ValueError, match="draws"):
        kernel_learning_curve(K, torch.ones(4), [2], draws=0)
