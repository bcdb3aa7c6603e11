"""Residual depth limits, gradient-flow references and discretization closed forms."""
import math

import numpy as np
import pytest
import torch

from lmlib import exercises
from lmlib.data.regression import sine_regression
from lmlib.ensemble import train_ensemble
from lmlib.flow import flatten, flow_gradient, gradient_flow, modified_loss, unflatten
from lmlib.metrics import fit_power_law
from lmlib.models import MLP
from lmlib.models.residual import (
    ResidualMLP, brownian_weights, iid_weights, neural_ode, smooth_path, smooth_path_weights,
)
from lmlib.theory import discretization as disc

# ---------------------------------------------------------------- residual networks


def test_residual_block_formula():
    w = torch.randn(3, 5, 5, dtype=torch.float64)
    net = ResidualMLP(5, 3, gamma=0.5, weights=w)
    x = torch.randn(2, 5, dtype=torch.float64)
    h = x
    for l in range(3):
        h = h + 3 ** -0.5 * torch.tanh(h) @ w[l].T / math.sqrt(5)
    torch.testing.assert_close(net(x), h)
    stream = net.stream(x)
    assert stream.shape == (4, 2, 5)
    torch.testing.assert_close(stream[0], x)


def test_residual_read_in_out_and_errors():
    net = ResidualMLP(8, 4, d_in=3, d_out=2, seed=1)
    assert net(torch.randn(5, 3)).shape == (5, 2)
    with pytest.raises(ValueError, match="weights must be"):
        ResidualMLP(8, 4, weights=torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="width=8"):
        ResidualMLP(8, 4)(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="activation"):
        ResidualMLP(8, 4, activation="sigmoid")
    with pytest.raises(ValueError, match="divide"):
        brownian_weights(4, 3, finest=8)


def test_smooth_path_is_shared_across_depths():
    w4 = smooth_path_weights(6, 4, seed=3)
    w8 = smooth_path_weights(6, 8, seed=3)
    torch.testing.assert_close(w4, w8[::2])          # W(l/4) = W(2l/8): one path
    torch.testing.assert_close(smooth_path(6, 0.25, seed=3), w4[1])
    assert not torch.allclose(w4, smooth_path_weights(6, 4, seed=4))


def test_brownian_weights_are_coupled_increments():
    fine, coarse = brownian_weights(5, 8, finest=16, seed=2), brownian_weights(5, 4, finest=16, seed=2)
    # L^(−½)·W_l are Brownian increments: two fine ones add up to one coarse one.
    torch.testing.assert_close(coarse / 2, (fine[0::2] + fine[1::2]) / math.sqrt(8))
    big = brownian_weights(40, 16, finest=64, seed=0)
    assert abs(big.var().item() - 1.0) < 0.05         # each block is an ordinary N(0, 1) init


def test_euler_converges_to_neural_ode_at_first_order():
    x0 = torch.randn(4, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    limit = neural_ode(x0, seed=5)
    depths = [8, 16, 32, 64]
    err = [(ResidualMLP(16, L, weights=smooth_path_weights(16, L, seed=5))(x0) - limit).norm().item()
           for L in depths]
    assert abs(fit_power_law(depths, err)[0] + 1.0) < 0.05


def test_iid_weights_have_no_pathwise_limit():
    x0 = torch.randn(8, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    a = ResidualMLP(32, 64, gamma=0.5, weights=iid_weights(32, 64, seed=1))(x0)
    b = ResidualMLP(32, 128, gamma=0.5, weights=iid_weights(32, 128, seed=2))(x0)
    c = ResidualMLP(32, 128, gamma=0.5, weights=brownian_weights(32, 128, finest=128, seed=2))(x0)
    d = ResidualMLP(32, 64, gamma=0.5, weights=brownian_weights(32, 64, finest=128, seed=2))(x0)
    assert (a - b).norm() > 5 * (c - d).norm()


# ---------------------------------------------------------------- flows


def _problem(seed=0):
    x, y = sine_regression(16, seed=seed, dtype=torch.float64)
    return MLP((2, 6, 1), "tanh", parameterization="ntk", seed=seed).double(), x, y


def test_flatten_roundtrip():
    net, _, _ = _problem()
    params = dict(net.named_parameters())
    vec = flatten(params)
    back = unflatten(vec, params)
    for k in params:
        torch.testing.assert_close(back[k], params[k].detach())
    stacked = {k: torch.stack([p.detach(), 2 * p.detach()]) for k, p in params.items()}
    torch.testing.assert_close(flatten(stacked, members=True)[1], 2 * vec)
    with pytest.raises(ValueError, match="entries"):
        unflatten(vec[:-1], params)


def test_modified_loss_adds_gradient_norm_penalty():
    net, x, y = _problem(1)
    vec = flatten(dict(net.named_parameters()))
    g = flow_gradient(net, x, y)(vec)
    base = modified_loss(net, x, y, 0.0)(vec)
    torch.testing.assert_close(modified_loss(net, x, y, 0.2)(vec), base + 0.05 * g.pow(2).sum())
    # ∇L̃ = ∇L + (η/2)·H∇L: compare with a finite difference of ∇L along ∇L.
    eps = 1e-6
    hg = (flow_gradient(net, x, y)(vec + eps * g) - flow_gradient(net, x, y)(vec - eps * g)) / (2 * eps)
    torch.testing.assert_close(flow_gradient(net, x, y, lr=0.2)(vec), g + 0.1 * hg, rtol=1e-6, atol=1e-8)


def test_flow_reduces_loss_and_rejects_bad_times():
    net, x, y = _problem(2)
    sol = gradient_flow(net, x, y, [0.0, 1.0, 2.0], rtol=1e-8, atol=1e-8)
    assert sol.theta.shape[0] == 3 and np.all(np.diff(sol.loss) < 0)
    np.testing.assert_allclose(sol.theta[0], flatten(dict(net.named_parameters())).numpy())
    assert set(sol.params()) == {k for k, _ in net.named_parameters()}
    with pytest.raises(ValueError, match="increasing"):
        gradient_flow(net, x, y, [1.0, 0.5])
    with pytest.raises(ValueError, match="lr"):
        gradient_flow(net, x, y, [1.0], lr=[-0.1])


@pytest.mark.slow
def test_gd_converges_to_flow_and_modified_flow():
    net, x, y = _problem(3)
    T, lrs = 2.0, np.array([0.2, 0.1, 0.05])
    n = np.round(T / lrs).astype(int)
    gd = train_ensemble(net, x, y, lr=lrs, steps=int(n.max()), lr_schedule=lambda k: (k < n).astype(float))
    theta = flatten(gd.params, members=True).numpy()
    flow = gradient_flow(net, x, y, [0.0, T])
    mod = gradient_flow(net, x, y, [0.0, T], lr=lrs)
    assert mod.theta.shape == (2, 3, theta.shape[1])
    e1 = np.linalg.norm(theta - flow.theta[-1], axis=1)
    e2 = np.linalg.norm(theta - mod.theta[-1], axis=1)
    assert abs(fit_power_law(lrs, e1)[0] - 1) < 0.15 and abs(fit_power_law(lrs, e2)[0] - 2) < 0.15


def test_batched_modified_flow_matches_single():
    net, x, y = _problem(4)
    both = gradient_flow(net, x, y, [0.0, 0.5], lr=[0.0, 0.1], rtol=1e-10, atol=1e-10)
    one = gradient_flow(net, x, y, [0.0, 0.5], lr=0.1, rtol=1e-10, atol=1e-10)
    zero = gradient_flow(net, x, y, [0.0, 0.5], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(both.theta[-1, 1], one.theta[-1], atol=1e-8)
    np.testing.assert_allclose(both.theta[-1, 0], zero.theta[-1], atol=1e-8)


# ---------------------------------------------------------------- closed forms


def test_quadratic_closed_forms():
    h, lr = 2.0, 0.05
    k = np.arange(0, 200)
    gd = disc.quadratic_gd(h, lr, k)
    # Descent decays at its own rate exactly, and the modified rate is right to O(η²).
    np.testing.assert_allclose(gd, np.exp(-disc.quadratic_gd_rate(h, lr) * lr * k), rtol=1e-12)
    gap_flow = abs(disc.quadratic_gd_rate(h, lr) - h)
    gap_mod = abs(disc.quadratic_gd_rate(h, lr) - disc.quadratic_modified_rate(h, lr))
    assert gap_mod < 0.1 * gap_flow
    assert abs(gap_mod - h * (lr * h) ** 2 / 3) / gap_mod < 0.1
    np.testing.assert_allclose(disc.quadratic_flow(h, 1.0), math.exp(-2.0))
    with pytest.raises(ValueError, match="lr·h"):
        disc.quadratic_gd_rate(h, 0.6)


def test_orders_and_depth_for_error():
    assert disc.order("sde") == 0.5 and disc.order("modified") == 2.0
    assert math.isclose(disc.depth_for_error(0.1, 10, 0.05, "sde"), 40.0)
    assert math.isclose(disc.depth_for_error(0.1, 10, 0.05, "ode"), 20.0)
    with pytest.raises(ValueError, match="limit"):
        disc.order("pde")


def test_depth_time_exercises():
    assert exercises.check("depth_time.modified_rate", lambda h, lr: h * (1 + lr * h / 2), quiet=True)
    assert not exercises.check("depth_time.modified_rate", lambda h, lr: h, quiet=True)
    assert exercises.check("depth_time.sde_depth", 32 * (0.036 / 0.005) ** 2, quiet=True)
    assert not exercises.check("depth_time.sde_depth", 32 * 0.036 / 0.005, quiet=True)
