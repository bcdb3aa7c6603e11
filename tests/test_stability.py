"""Tests for the edge-of-stability theory (lmlib.theory.stability) and the MLP-teacher data."""
import numpy as np
import pytest
import torch

from lmlib.data.mlp_teacher import mlp_teacher
from lmlib.hessian import sharpness
from lmlib.theory import stability


def test_threshold_is_two_over_lr():
    assert stability.stability_threshold(0.25) == pytest.approx(8.0)
    np.testing.assert_allclose(stability.stability_threshold(np.array([0.1, 0.4])), [20.0, 5.0])
    with pytest.raises(ValueError, match="lr"):
        stability.stability_threshold(0.0)


def test_quadratic_gd_matches_an_explicit_loop_and_diverges_above_threshold():
    lam, lr, steps = np.array([1.0, 7.9, 8.1]), 0.25, 40
    traj = stability.quadratic_gd(lam, 1.0, lr, steps)
    x = np.ones(3)
    for t in range(steps):
        x = x - lr * lam * x                       # GD on ½ Σ λ x²: gradient λ x
    np.testing.assert_allclose(traj[-1], x, rtol=1e-12)
    assert abs(traj[-1, 1]) < 1.0 < abs(traj[-1, 2])   # just below 2/η shrinks, just above grows
    assert np.all(np.sign(traj[1:, 2]) != np.sign(traj[:-1, 2]))   # and flips sign every step


def test_steps_to_grow_inverts_growth_factor():
    t = stability.steps_to_grow(2.2 / 0.1, 0.1, 10.0)
    assert stability.growth_factor(2.2 / 0.1, 0.1) ** t == pytest.approx(10.0)
    with pytest.raises(ValueError, match="threshold"):
        stability.steps_to_grow(1.9 / 0.1, 0.1, 10.0)
    with pytest.raises(ValueError, match="factor"):
        stability.steps_to_grow(3.0 / 0.1, 0.1, 0.5)


def test_period_two_orbit_is_a_fixed_point_of_two_gd_steps():
    lam, c, lr = 12.0, 3.0, 0.2
    a = stability.period_two_amplitude(lam, c, lr)
    step = lambda x: x - lr * (lam * x - c * x ** 3)   # GD on ½λx² − ¼cx⁴
    assert step(a) == pytest.approx(-a, rel=1e-12)
    assert step(step(a)) == pytest.approx(a, rel=1e-12)
    with pytest.raises(ValueError, match="exceed"):
        stability.period_two_amplitude(9.0, c, lr)


def test_mlp_teacher_is_standardised_deterministic_and_validated():
    x, y = mlp_teacher(300, 7, 3, init_scale=2.0, seed=4)
    assert x.shape == (300, 7) and y.shape == (300, 3) and x.dtype == torch.float32
    assert float(y.std()) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(y.mean(0).numpy(), 0.0, atol=1e-5)
    x2, y2 = mlp_teacher(300, 7, 3, init_scale=2.0, seed=4)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(y, mlp_teacher(300, 7, 3, init_scale=2.0, seed=5)[1])
    with pytest.raises(ValueError, match="init_scale"):
        mlp_teacher(10, 2, init_scale=0.0)
    with pytest.raises(TypeError, match="hidden"):
        mlp_teacher(10, 2, hidden=5)


def test_sharpness_of_a_linear_model_is_the_top_eigenvalue_of_the_input_covariance():
    # For f = W x and loss ½·mean‖Wx − y‖², the Hessian is I ⊗ (XᵀX/n): the
    # threshold the chapter draws at 2/η applies to exactly this normalisation.
    x, y = mlp_teacher(200, 5, 2, seed=1, dtype=torch.float64)
    x = x * torch.tensor([1.0, 2.0, 0.5, 1.0, 1.5], dtype=torch.float64)
    model = torch.nn.Linear(5, 2, bias=False).double()
    top = float(torch.linalg.eigvalsh(x.T @ x / len(x))[-1])
    assert sharpness(model, "mse", x, y, tol=1e-10) == pytest.approx(top, rel=1e-8)
