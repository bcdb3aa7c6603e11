"""Tests for the scaling-law chapter's lmlib code: closed forms, the solvable model, online students, frontiers."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lmlib.data.power_law import PowerLawTeacher, power_law_gaussian
from lmlib.frontier import compute_frontier, cosine_factor, n_params_two_layer, train_two_layer_online
from lmlib.random_features import online_sgd_linear, random_feature_flow, random_feature_risk, ridgeless_risk
from lmlib.theory import scaling as th


# ----------------------------------------------------------------------------- closed forms
def test_exponents_and_paquette_parameterisation_agree():
    for a, b in [(0.75, 0.25), (1.0, 0.6), (0.6, 1.2)]:
        alpha, beta = 2 * a, 2 * a + 2 * b
        assert th.compute_exponent(alpha, beta) == pytest.approx(th.compute_exponent_paquette(a, b))
    assert th.data_exponent(1.5, 2.5) == pytest.approx(1.5)
    assert th.data_exponent(1.5, 5.0) == pytest.approx(3.0)       # saturates at 2α
    assert th.param_exponent(2.0, 4.0) == pytest.approx(2.0)      # saturates at α
    assert th.time_exponent(2.0, 4.0) == pytest.approx(1.5)
    assert th.n_star_exponent(1.5) == pytest.approx(0.4)


def test_exponents_reject_bad_arguments():
    with pytest.raises(ValueError, match="alpha"):
        th.time_exponent(1.0, 2.0)
    with pytest.raises(ValueError, match="beta"):
        th.data_exponent(2.0, 0.5)
    with pytest.raises(TypeError, match="alpha"):
        th.compute_exponent("2", 3.0)


def test_tail_power_matches_direct_sum():
    k = np.arange(1, 2_000_001, dtype=np.float64)
    for K, beta, rel in [(1, 2.0, 1e-2), (10, 2.0, 2e-5), (30, 3.5, 2e-5)]:
        direct = np.sum(k[K:] ** -beta)
        assert th.tail_power(K, beta) == pytest.approx(direct, rel=rel)


def test_gradient_flow_loss_limits():
    lam, v2 = th.spectrum(50, 1.5), th.spectrum(50, 2.0)
    out = th.gradient_flow_loss(lam, v2, np.array([0.0, 1e9]))
    assert out[0] == pytest.approx(float(v2.sum()))
    assert out[1] == pytest.approx(0.0, abs=1e-12)
    assert th.target_weights(10, 1.5, 2.0)[3] ** 2 * lam[3] == pytest.approx(v2[3])


# ----------------------------------------------------------------------------- the solvable model
def test_ridgeless_isotropic_matches_projection_formula():
    # Isotropic data: the min-norm interpolant projects w* onto a random n-dim subspace, E risk = 1 − n/M.
    M, n = 200, 50
    lam = torch.ones(M)
    w = torch.randn(M, generator=torch.Generator().manual_seed(1000), dtype=torch.float64)
    risk = ridgeless_risk(lam, w, [n], seeds=list(range(20)))
    assert risk.mean() == pytest.approx(1 - n / M, abs=0.02)


def test_random_feature_risk_exact_cases():
    M = 60
    lam, w = th.spectrum(M, 1.5), th.target_weights(M, 1.5, 2.0)
    full = random_feature_risk(lam, w, [M], seeds=[3])
    assert full[0, 0] == pytest.approx(0.0, abs=1e-8)              # N = M features span everything
    iso = random_feature_risk(torch.ones(M), torch.ones(M), [15], seeds=list(range(30)))
    assert iso.mean() == pytest.approx(1 - 15 / M, abs=0.03)
    with pytest.raises(ValueError, match="N"):
        random_feature_risk(lam, w, [M + 1], seeds=[0])


def test_random_feature_flow_matches_small_step_descent_and_limits():
    M, N = 40, 10
    lam, w = th.spectrum(M, 1.5), th.target_weights(M, 1.5, 2.0)
    taus = np.array([0.0, 0.5, 2.0, 1e8])
    flow = random_feature_flow(lam, w, [N], taus, seeds=[4])[0, 0]
    assert flow[0] == pytest.approx(1.0)
    assert flow[-1] == pytest.approx(random_feature_risk(lam, w, [N], seeds=[4])[0, 0], rel=1e-8)
    # Explicit descent with a tiny step on the same features reproduces the flow.
    F = torch.randn(N, M, generator=torch.Generator().manual_seed(4), dtype=torch.float64) / math.sqrt(N)
    A, b, total = (F * lam) @ F.T, (F * lam) @ w, float(lam @ w**2)
    theta, eta = torch.zeros(N, dtype=torch.float64), 1e-3
    for _ in range(2000):                                  # τ = 2
        theta -= eta * (A @ theta - b)
    u = F.T @ theta
    assert float(lam @ (u - w) ** 2) / total == pytest.approx(flow[2], rel=2e-3)


def test_online_sgd_follows_gradient_flow_at_large_batch():
    M = 20
    lam, w = th.spectrum(M, 1.5), th.target_weights(M, 1.5, 2.5)
    out = online_sgd_linear(lam, w, lr=0.05, steps=200, batch_size=512, record_steps=[0, 50, 200], seed=2)
    flow = th.gradient_flow_loss(lam, lam * w**2, 0.05 * np.array([0, 50, 200])) / float(lam @ w**2)
    np.testing.assert_allclose(out[:, 0], flow, rtol=0.05)
    with pytest.raises(ValueError, match="record_steps"):
        online_sgd_linear(lam, w, lr=0.1, steps=5, batch_size=4, record_steps=[9], seed=0)


def test_power_law_gaussian_variances():
    x = power_law_gaussian(20000, th.spectrum(4, 1.0), seed=5)
    np.testing.assert_allclose(x.var(0).numpy(), [1, 1 / 2, 1 / 3, 1 / 4], rtol=0.05)
    with pytest.raises(ValueError, match="lam"):
        power_law_gaussian(3, -torch.ones(2))


# ----------------------------------------------------------------------------- online two-layer students
def test_teacher_is_standardised_and_deterministic():
    teacher = PowerLawTeacher(16, 32, seed=1, n_standardise=4096)
    x, y = teacher.sample(8192, torch.Generator().manual_seed(2))
    assert float(y.mean()) == pytest.approx(0.0, abs=0.05)
    assert float(y.var()) == pytest.approx(1.0, abs=0.07)
    assert float(x[:, 3].var()) == pytest.approx(1 / 4, rel=0.08)
    x2, y2 = teacher.sample(8192, torch.Generator().manual_seed(2))
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert torch.allclose(teacher.target(x[:5]), y[:5])
    with pytest.raises(TypeError, match="generator"):
        teacher.sample(4, 7)


def _reference_run(teacher, width, horizon, lr, x_test, y_test, seed, data_seed, d):
    """One student trained with autograd, torch.optim.Adam and LambdaLR: what the fast loop must equal."""
    gen = torch.Generator().manual_seed(seed)
    inits = {}
    for w in (2, 3):  # the fast loop draws one init per width, in the order the widths are given
        inits[w] = (torch.randn(w, d, generator=gen, dtype=torch.float64) / math.sqrt(d),
                    torch.randn(w, generator=gen, dtype=torch.float64) / math.sqrt(w))
    W, a = (t.clone().requires_grad_(True) for t in inits[width])
    b = torch.zeros(width, dtype=torch.float64, requires_grad=True)
    c = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([W, b, a, c], lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: float(cosine_factor(t, horizon)))
    data_gen = torch.Generator().manual_seed(data_seed)
    for _ in range(horizon):
        x, y = teacher.sample(16, data_gen)
        out = torch.relu(x.double() @ W.T + b) @ a + c
        loss = 0.5 * ((out - y.double()) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        out = torch.relu(x_test @ W.T + b) @ a + c
        return float(((out - y_test) ** 2).mean() / y_test.var())


def test_two_layer_online_equals_separate_adam_runs():
    d = 6
    teacher = PowerLawTeacher(d, 8, seed=3, n_standardise=1024, dtype=torch.float64)
    x_test, y_test = teacher.sample(256, torch.Generator().manual_seed(9))
    runs = train_two_layer_online(teacher.sample, x_test, y_test, widths=[2, 3], horizons=[5, 12],
                                  lr=[1e-2, 3e-2], batch_size=16, seed=11, data_seed=12)
    assert runs.test_loss.shape == (2, 2, 2)
    for i, w in enumerate([2, 3]):
        for j, T in enumerate([5, 12]):
            for k, lr in enumerate([1e-2, 3e-2]):
                ref = _reference_run(teacher, w, T, lr, x_test, y_test, 11, 12, d)
                assert runs.test_loss[i, j, k] == pytest.approx(ref, rel=1e-9)
    np.testing.assert_array_equal(runs.n_params, n_params_two_layer(np.array([2, 3]), d))
    assert runs.compute[1, 1] == pytest.approx(6 * (3 * (d + 2) + 1) * 16 * 12)


def test_two_layer_online_rejects_bad_arguments():
    teacher = PowerLawTeacher(4, 4, seed=0, n_standardise=64)
    x, y = teacher.sample(8, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="lr"):
        train_two_layer_online(teacher.sample, x, y, widths=[2], horizons=[3], lr=-1.0)
    with pytest.raises(ValueError, match="widths"):
        train_two_layer_online(teacher.sample, x, y, widths=[0], horizons=[3])
    with pytest.raises(ValueError, match="y_test"):
        train_two_layer_online(teacher.sample, x, y[:3], widths=[2], horizons=[3])


def test_cosine_factor():
    np.testing.assert_allclose(cosine_factor(np.array([0, 5, 10, 11]), 10), [1.0, 0.5, 0.0, 0.0], atol=1e-12)


# ----------------------------------------------------------------------------- frontiers
def test_compute_frontier_recovers_the_additive_law():
    # L(N, τ) = N^-1 + τ^(-2/3) with C = N·τ: the frontier falls as C^-0.4 and N* grows as C^0.4.
    N = np.geomspace(4, 4096, 11)
    tau = np.geomspace(1, 1e7, 60)
    L = 1 / N[:, None] + tau[None, :] ** (-2 / 3)
    f = compute_frontier(N[:, None] * tau[None, :], L, N, points_per_decade=20)
    assert f.exponent == pytest.approx(0.4, abs=0.01)
    assert f.n_star_exponent == pytest.approx(0.4, abs=0.05)
    assert f.r2 > 0.999 and f.spearman > 0.95 and f.decades > 3
    assert np.all(np.diff(f.best[f.window]) >= 0)


def test_compute_frontier_errors():
    with pytest.raises(ValueError, match="increasing"):
        compute_frontier(np.ones((2, 3)), np.ones((2, 3)), np.array([2, 1]))
    C = np.array([[1.0, 10.0], [2.0, 20.0]])
    with pytest.raises(ValueError, match="window"):
        compute_frontier(C, np.array([[1.0, 0.5], [2.0, 1.5]]), np.array([1, 2]))


def test_spearman_with_ties_matches_scipy():
    from scipy.stats import spearmanr

    from lmlib.frontier import _spearman

    x = np.arange(12.0)
    y = np.array([1, 1, 2, 2, 2, 3, 5, 4, 8, 8, 8, 9.0])
    assert _spearman(x, y) == pytest.approx(float(spearmanr(x, y).statistic), abs=1e-12)
    assert _spearman(x, np.ones(12)) == 0.0
