"""Tests for the diagonal linear network and the theory of its implicit bias."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lmlib.ensemble import train_ensemble
from lmlib.models import DiagonalLinear
from lmlib.theory import diagonal


def _problem(n=8, d=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    w_star = torch.zeros(d, dtype=torch.float64)
    w_star[:2] = torch.tensor([1.0, -0.5], dtype=torch.float64)
    return X, X @ w_star, w_star


def test_model_starts_at_zero_and_computes_u2_minus_v2():
    net = DiagonalLinear(4, alpha=0.3)
    assert torch.equal(net.w, torch.zeros(4))
    with torch.no_grad():
        net.u.copy_(torch.tensor([1.0, 2.0, 0.0, 0.5]))
    x = torch.randn(3, 4)
    assert torch.allclose(net(x), x @ (net.u**2 - net.v**2))


def test_model_validates():
    with pytest.raises(ValueError, match="alpha"):
        DiagonalLinear(3, alpha=0.0)
    with pytest.raises(ValueError, match="columns"):
        DiagonalLinear(3)(torch.randn(2, 4))


def test_gradient_flow_form_and_kkt():
    # The solution has the form 2α² sinh(Xᵀν), interpolates, and is where Q_α is smallest among
    # interpolants: moving along the null space of X only increases Q_α.
    X, y, _ = _problem()
    alpha = 0.2
    w = diagonal.implicit_bias_solution(X, y, alpha)
    Xn = X.numpy()
    assert np.abs(Xn @ w - y.numpy()).max() < 1e-9
    nu = np.linalg.lstsq(Xn.T, np.arcsinh(w / (2 * alpha**2)), rcond=None)[0]
    assert np.allclose(2 * alpha**2 * np.sinh(Xn.T @ nu), w, atol=1e-8)
    null = np.linalg.svd(Xn)[2][X.shape[0]:]
    q0 = diagonal.q_alpha(w, alpha)
    rng = np.random.default_rng(1)
    for _ in range(5):
        step = null.T @ rng.standard_normal(null.shape[0])
        assert diagonal.q_alpha(w + 1e-3 * step, alpha) > q0


def test_limits_are_l2_and_l1():
    X, y, w_star = _problem(n=12, d=30)
    l2, l1 = diagonal.min_l2_interpolant(X, y), diagonal.min_l1_interpolant(X, y)
    assert np.allclose(l1, w_star.numpy(), atol=1e-7)          # basis pursuit recovers the 2-sparse target
    big, small = diagonal.implicit_bias_solution(X, y, 30.0), diagonal.implicit_bias_solution(X, y, 1e-4)
    assert np.linalg.norm(big - l2) / np.linalg.norm(l2) < 1e-5
    assert np.linalg.norm(small - l1) / np.linalg.norm(l1) < 2e-2


def test_trained_network_matches_the_theory():
    X, y, _ = _problem()
    alphas = [0.05, 0.5]
    members = [DiagonalLinear(X.shape[1], alpha=a).double() for a in alphas]
    hist = train_ensemble(members, X, y, lr=0.05, steps=1000)
    w = (hist.params["u"] ** 2 - hist.params["v"] ** 2).numpy()
    for wi, a in zip(w, alphas):
        theory = diagonal.implicit_bias_solution(X, y, a)
        assert np.linalg.norm(wi - theory) / np.linalg.norm(theory) < 2e-2


def test_q_alpha_closed_form():
    assert diagonal.q_alpha(np.zeros(3), 0.7) == 0.0
    z = 1e-3
    assert math.isclose(diagonal.q_alpha([z], 1.0), z**2 / 4, rel_tol=1e-5)


def test_expected_l2_error_against_monte_carlo():
    n, d, reps = 10, 25, 400
    g = torch.Generator().manual_seed(3)
    w_star = torch.zeros(d, dtype=torch.float64)
    w_star[0] = 1.0
    errs = []
    for _ in range(reps):
        X = torch.randn(n, d, generator=g, dtype=torch.float64)
        errs.append(((diagonal.min_l2_interpolant(X, X @ w_star) - w_star.numpy()) ** 2).sum())
    assert math.isclose(np.mean(errs), diagonal.min_l2_expected_error(1.0, n, d), rel_tol=0.05)
    with pytest.raises(ValueError, match="n"):
        diagonal.min_l2_expected_error(1.0, 30, 25)


def test_inputs_are_validated():
    X, y, _ = _problem()
    with pytest.raises(ValueError, match="row rank"):
        diagonal.implicit_bias_solution(torch.randn(30, 20, dtype=torch.float64),
                                        torch.randn(30, dtype=torch.float64), 1.0)
    with pytest.raises(ValueError, match="alpha"):
        diagonal.implicit_bias_solution(X, y, -1.0)
    with pytest.raises(ValueError, match="X"):
        diagonal.min_l2_interpolant(X, y[:-1])
