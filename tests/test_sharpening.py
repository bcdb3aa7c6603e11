"""Tests for lmlib.sharpening: GD that records the loss every step and the sharpness every k."""
import numpy as np
import pytest
import torch

from lmlib.data.mlp_teacher import mlp_teacher
from lmlib.models import MLP
from lmlib.sharpening import gd_with_sharpness
from lmlib.train import train


def _data():
    return mlp_teacher(64, 4, 2, seed=3, dtype=torch.float64)


def test_chunked_run_equals_one_uninterrupted_gd_run():
    x, y = _data()
    a = MLP((4, 16, 2), "tanh", seed=1).double()
    b = MLP((4, 16, 2), "tanh", seed=1).double()
    run = gd_with_sharpness(a, x, y, lr=0.1, steps=23, every=5)
    ref = train(b, x, y, lr=0.1, steps=23)
    np.testing.assert_allclose(run.loss, ref.loss, rtol=1e-12)
    assert run.steps.tolist() == list(range(24))
    assert run.sharpness_steps.tolist() == [0, 5, 10, 15, 20, 23]
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)


def test_linear_model_sharpness_is_constant_and_gd_diverges_exactly_above_two_over_lr():
    x, y = _data()
    lam = float(torch.linalg.eigvalsh(x.T @ x / len(x))[-1])   # Hessian of ½·mean‖Wx − y‖²
    below = gd_with_sharpness(torch.nn.Linear(4, 2, bias=False).double(), x, y,
                              lr=1.9 / lam, steps=60, every=7, tol=1e-8)
    np.testing.assert_allclose(below.sharpness, lam, rtol=1e-6)
    assert below.loss[-1] < below.loss[0] and not below.diverged
    above = gd_with_sharpness(torch.nn.Linear(4, 2, bias=False).double(), x, y,
                              lr=2.1 / lam, steps=200, every=50)
    assert above.loss[-1] > 10 * above.loss[0]     # the top mode grows as 1.1^t


def test_late_selects_the_end_of_the_run_and_validates():
    x, y = _data()
    run = gd_with_sharpness(MLP((4, 8, 2), "tanh", seed=2).double(), x, y, lr=0.05, steps=20, every=5)
    np.testing.assert_array_equal(run.late(0.5), run.sharpness[run.sharpness_steps >= 10])
    with pytest.raises(ValueError, match="fraction"):
        run.late(1.5)
    with pytest.raises(ValueError, match="every"):
        gd_with_sharpness(MLP((4, 8, 2), seed=2), x.float(), y.float(), lr=0.1, steps=5, every=0)
    with pytest.raises(ValueError, match="lr"):
        gd_with_sharpness(MLP((4, 8, 2), seed=2), x.float(), y.float(), lr=-1.0, steps=5)
