"""Tests for the lazy/rich chapter's lmlib code: teacher data, feature-change metrics, the
mirrored initialisation, and the closed-form linearised GD against explicit iteration."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lmlib.data.teacher import teacher_student
from lmlib.exercises import check as exercise_check
from lmlib.features import kernel_target_alignment, relative_change, subspace_alignment
from lmlib.models import MLP
from lmlib.models.two_layer import MeanFieldNet, mirror_
from lmlib.ntk import empirical_ntk, kernel_regression
from lmlib.theory.lazy import linearized_gd
from lmlib.train import train


# ----------------------------------------------------------------------------- teacher data
def test_teacher_student_targets_and_subspace():
    data = teacher_student(50, 8, 3, n_test=20, seed=4, dtype=torch.float64)
    assert data.x.shape == (50, 8) and data.y.shape == (50,)
    assert data.x_test.shape == (20, 8) and data.directions.shape == (8, 3)
    U = data.directions
    assert torch.allclose(U.T @ U, torch.eye(3, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(data.y, torch.relu(data.x @ U).sum(1))
    assert torch.allclose(data.y_test, torch.relu(data.x_test @ U).sum(1))


def test_teacher_student_is_seeded():
    a, b, c = (teacher_student(10, 4, seed=s) for s in (1, 1, 2))
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not torch.equal(a.x, c.x)
    assert a.x.dtype == torch.float32


@pytest.mark.parametrize("kwargs, err", [(dict(n=10, d=3, r=4), ValueError), (dict(n=0, d=3), ValueError),
                                         (dict(n=10, d=3.0), TypeError), (dict(n=5, d=3, n_test=0), ValueError)])
def test_teacher_student_validates(kwargs, err):
    with pytest.raises(err):
        teacher_student(**kwargs)


# ----------------------------------------------------------------------------- feature metrics
def test_relative_change_values_and_batching():
    w0 = torch.ones(2, 3, 4)
    w = w0.clone()
    w[1] *= 1.5
    out = relative_change(w, w0)
    assert out.shape == (2,)
    assert torch.allclose(out, torch.tensor([0.0, 0.5]))
    assert relative_change(torch.tensor([3.0, 4.0]), torch.tensor([0.0, 5.0])).item() == pytest.approx(
        math.sqrt(10) / 5)
    with pytest.raises(ValueError, match="zero norm"):
        relative_change(torch.ones(2, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="same shape"):
        relative_change(torch.ones(2, 2), torch.ones(2, 3))


def test_subspace_alignment_limits_and_random_value():
    d, r, m = 16, 2, 4096
    U = teacher_student(5, d, r, seed=0, dtype=torch.float64).directions
    inside = torch.randn(7, r, dtype=torch.float64) @ U.T
    assert subspace_alignment(inside, U).item() == pytest.approx(1.0)
    outside = torch.randn(7, d, dtype=torch.float64)
    outside -= outside @ U @ U.T
    assert subspace_alignment(outside, U).item() == pytest.approx(0.0, abs=1e-12)
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(3, m, d, generator=gen, dtype=torch.float64)
    a = subspace_alignment(w, U)
    assert a.shape == (3,)
    # Beta(mr/2, m(d−r)/2): mean r/d, std √(p(1−p)/(md/2+1)); 5 std is a test that can fail.
    std = math.sqrt(r / d * (1 - r / d) / (m * d / 2 + 1))
    assert (a - r / d).abs().max().item() < 5 * std


def test_subspace_alignment_validates():
    with pytest.raises(ValueError, match="orthonormal"):
        subspace_alignment(torch.randn(3, 4), 2 * torch.eye(4)[:, :2])
    with pytest.raises(ValueError, match="rows of directions"):
        subspace_alignment(torch.randn(3, 5), torch.eye(4)[:, :2])


def test_kernel_target_alignment():
    y = torch.tensor([1.0, -2.0, 0.5, 3.0])
    assert kernel_target_alignment(torch.outer(y, y), y, center=False).item() == pytest.approx(1.0)
    yc = y - y.mean()
    assert kernel_target_alignment(torch.outer(yc, yc) + 5.0, y).item() == pytest.approx(1.0)
    # Uncentred, the constant added to K drags the alignment down; centring removes it.
    assert kernel_target_alignment(torch.outer(yc, yc) + 5.0, y, center=False).item() < 0.9
    K = torch.randn(3, 4, 4)
    K = K @ K.transpose(1, 2)
    out = kernel_target_alignment(K, y)
    assert out.shape == (3,)
    assert torch.allclose(out, kernel_target_alignment(7.0 * K, y))  # scale-free
    assert (out.abs() <= 1 + 1e-6).all()
    with pytest.raises(ValueError, match="entries"):
        kernel_target_alignment(K, y[:3])
    with pytest.raises(TypeError, match="center"):
        kernel_target_alignment(K, y, center=1)


# ----------------------------------------------------------------------------- mirrored init
@pytest.mark.parametrize("make", [
    lambda: MLP((5, 8, 1), "relu", parameterization="ntk", bias=False, seed=3),
    lambda: MLP((5, 8, 2), "tanh", seed=3),
    lambda: MeanFieldNet(5, 8, seed=3),
])
def test_mirror_zeroes_the_initial_output(make):
    net = mirror_(make())
    x = torch.randn(11, 5)
    with torch.no_grad():
        assert net(x).abs().max().item() < 1e-6  # zero up to the summation order of round-off
    # The two halves really are copies: training breaks the symmetry, the output moves.
    before = [p.detach().clone() for p in net.parameters()]
    train(net, x, torch.randn(11) if net(x).ndim == 1 or net(x).shape[1] == 1 else torch.randn(11, 2),
          lr=0.1, steps=3)
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_mirror_validates():
    with pytest.raises(ValueError, match="even"):
        mirror_(MLP((3, 7, 1)))
    with pytest.raises(ValueError, match="two nn.Linear"):
        mirror_(MLP((3, 4, 4, 1)))
    net = MLP((3, 4, 1))
    with torch.no_grad():
        net.linears[1].bias.fill_(1.0)
    with pytest.raises(ValueError, match="bias"):
        mirror_(net)
    with pytest.raises(TypeError):
        mirror_("net")


# ----------------------------------------------------------------------------- linearised GD
def _random_feature_kernel(n, n_test, p, seed):
    gen = torch.Generator().manual_seed(seed)
    phi = torch.randn(n + n_test, p, generator=gen, dtype=torch.float64)
    y = torch.randn(n, generator=gen, dtype=torch.float64)
    return phi[:n], phi[n:], y


def test_linearized_gd_equals_gd_on_a_linear_model():
    # f = Φθ is its own linearisation, with NTK ΦΦᵀ: the closed form must equal explicit GD.
    phi, phi_t, y = _random_feature_kernel(12, 5, 30, 0)
    theta0 = torch.randn(30, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    theta, lr, steps = theta0.clone(), 0.02, 37
    for _ in range(steps):
        theta -= lr * phi.T @ (phi @ theta - y) / len(y)
    pred = linearized_gd(phi @ phi.T, phi_t @ phi.T, y, lr=lr, steps=steps,
                         f0_train=phi @ theta0, f0_test=phi_t @ theta0)
    assert torch.allclose(pred, phi_t @ theta, rtol=1e-10, atol=1e-12)
    assert torch.equal(linearized_gd(phi @ phi.T, phi_t @ phi.T, y, lr=lr, steps=0), torch.zeros(5, dtype=torch.float64))


def test_linearized_gd_converges_to_kernel_regression():
    phi, phi_t, y = _random_feature_kernel(10, 4, 40, 2)
    K, Kx = phi @ phi.T, phi_t @ phi.T
    lr = 1.0 / torch.linalg.eigvalsh(K / 10).max().item()
    pred = linearized_gd(K, Kx, y, lr=lr, steps=100_000)
    assert torch.allclose(pred, kernel_regression(K, y, Kx), rtol=1e-6, atol=1e-8)


def test_linearized_gd_predicts_a_lazy_network():
    # σ = 10 with step η/σ²: relative weight change ~1e-3, so the network is its linearisation.
    data = teacher_student(32, 4, 2, n_test=16, seed=5)
    net = mirror_(MLP((4, 256, 1), "relu", parameterization="ntk", bias=False, init_scale=10.0, seed=6))
    K, Kx = empirical_ntk(net, data.x), empirical_ntk(net, data.x_test, data.x)
    lr, steps = 2.0 / 100, 100
    train(net, data.x, data.y, lr=lr, steps=steps)
    with torch.no_grad():
        f = net(data.x_test)[:, 0].double()
    pred = linearized_gd(K, Kx, data.y, lr=lr, steps=steps)
    assert ((f - pred).norm() / pred.norm()).item() < 0.01


def test_linearized_gd_validates():
    K = torch.eye(3)
    with pytest.raises(ValueError):
        linearized_gd(K, torch.ones(2, 4), torch.ones(3), lr=0.1, steps=1)
    with pytest.raises(ValueError):
        linearized_gd(K, torch.ones(2, 3), torch.ones(3), lr=-0.1, steps=1)
    with pytest.raises(ValueError):
        linearized_gd(K, torch.ones(2, 3), torch.ones(3), lr=0.1, steps=-1)


# ----------------------------------------------------------------------------- exercises
def test_lazy_rich_exercises_accept_the_solutions():
    def lazy_predict(K, Kx, y, lr, steps):
        lam, V = torch.linalg.eigh(K)
        gain = (1 - (1 - lr * lam / K.shape[0]) ** steps) / lam
        return Kx @ (V @ (gain * (V.T @ y)))

    assert exercise_check("lazy_rich.lazy_predict", lazy_predict, quiet=True)
    assert not exercise_check("lazy_rich.lazy_predict", lambda K, Kx, y, lr, steps: Kx @ y, quiet=True)
    assert exercise_check("lazy_rich.alignment_std", math.sqrt(0.125 * 0.875 / 2049), quiet=True)
    assert not exercise_check("lazy_rich.alignment_std", 0.125, quiet=True)


def test_mean_field_net_shapes_and_init():
    net = MeanFieldNet(30, 512, seed=1, dtype=torch.float64)
    w, b, a = net.hidden.weight, net.hidden.bias, net.readout.weight
    assert w.dtype == torch.float64 and net(torch.randn(3, 30, dtype=torch.float64)).shape == (3,)
    # w ~ N(0, I/d), b ~ N(0, 1), a ~ N(0, 1): sample variances within ~5 standard errors
    assert w.var().item() * 30 == pytest.approx(1.0, abs=5 * math.sqrt(2 / w.numel()) * 1.0 + 0.02)
    assert b.var().item() == pytest.approx(1.0, abs=0.3)
    assert a.var().item() == pytest.approx(1.0, abs=0.3)
    assert MeanFieldNet(3, 4, bias=False).hidden.bias is None
    with pytest.raises(ValueError):
        MeanFieldNet(3, 0)
    np.testing.assert_array_equal(MeanFieldNet(3, 4, seed=2).hidden.weight.detach(),
                                  MeanFieldNet(3, 4, seed=2).hidden.weight.detach())
