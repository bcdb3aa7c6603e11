import numpy as np
import pytest
import torch

from lmlib.data import low_rank_target, whitened_inputs
from lmlib.models import DeepLinear
from lmlib.theory import saxe
from lmlib.train import train


def test_closed_form_solves_the_logistic_ode():
    s, u0, lr = 2.0, 1e-3, 0.01
    t = np.linspace(0, 2000, 2001)
    u = saxe.mode_strength(t, s, u0, lr)
    assert u[0] == pytest.approx(u0)
    du = np.gradient(u, t * lr)
    np.testing.assert_allclose(du[1:-1], (2 * u * (s - u))[1:-1], atol=2e-3)
    assert saxe.mode_strength(1e9, s, u0, lr) == pytest.approx(s)  # no overflow at large t


def test_half_time_inverts_the_closed_form():
    s = np.array([3.0, 0.5])
    th = saxe.half_time(s, 1e-4, 0.02)
    np.testing.assert_allclose(saxe.mode_strength(th, s, 1e-4, 0.02), s / 2)
    with pytest.raises(ValueError, match="u0 < s/2"):
        saxe.half_time(1.0, 0.6)


def test_loss_curve_is_sum_over_modes():
    s = np.array([2.0, 1.0])
    t = np.array([0.0, 100.0, 1e6])
    loss = saxe.loss_curve(t, s, 1e-3, 0.01)
    assert loss[0] == pytest.approx(0.5 * ((s - 1e-3) ** 2).sum())
    assert loss[-1] == pytest.approx(0.0, abs=1e-12)


def test_discrete_map_is_exact_for_balanced_network():
    s = [2.0, 1.0]
    x = whitened_inputs(64, 4, seed=0, dtype=torch.float64)
    m, a, b = low_rank_target(s, 4, 4, seed=0, dtype=torch.float64)
    net = DeepLinear((4, 6, 4)).double().init_balanced_(1e-2, a, b)
    h = train(net, x, x @ m.T, lr=0.05, steps=200,
              record={"u": lambda n: torch.diagonal(a.T @ n.end_to_end() @ b)})
    np.testing.assert_allclose(h["u"], saxe.mode_strength_discrete(200, np.array(s), 1e-2, 0.05), atol=1e-12)
    # and gradient flow is its small-step limit: the gap is O(lr)
    flow = saxe.mode_strength(h.steps[:, None], np.array(s), 1e-2, 0.05)
    assert 1e-4 < np.abs(h["u"] - flow).max() < 0.1


def test_lazy_trajectory_matches_linearised_recursion():
    rng = np.random.default_rng(0)
    w1, w2, m = rng.normal(size=(5, 3)), rng.normal(size=(2, 5)), rng.normal(size=(2, 3))
    k1, k2, lr = w1.T @ w1, w2 @ w2.T, 0.01
    e = m - w2 @ w1
    for _ in range(30):
        e = e - lr * (e @ k1 + k2 @ e)
    out = saxe.lazy_trajectory(np.array([0, 30]), w1, w2, m, lr)
    np.testing.assert_allclose(out[0], w2 @ w1, atol=1e-12)
    np.testing.assert_allclose(out[1], m - e, atol=1e-12)
    with pytest.raises(ValueError, match="need w1"):
        saxe.lazy_trajectory(np.array([0]), w2, w1, m, lr)


@pytest.mark.parametrize("kwargs", [dict(s=-1.0), dict(u0=0.0), dict(lr=0.0), dict(s=np.nan)])
def test_invalid_inputs(kwargs):
    args = dict(t=1.0, s=1.0, u0=1e-3, lr=0.1)
    args.update(kwargs)
    with pytest.raises(ValueError):
        saxe.mode_strength(**args)
