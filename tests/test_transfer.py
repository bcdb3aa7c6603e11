"""lmlib.transfer: the interpolated optimum and the learning-rate ensemble."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lmlib.transfer import lr_curve, optimal_lr


def test_optimal_lr_recovers_an_off_grid_minimum():
    lrs = 2.0 ** np.arange(-10, -1.9, 1.0)
    u = np.log2(lrs)
    losses = np.exp(0.3 * (u + 6.37) ** 2 - 1.0)        # log-loss a parabola in log2 lr, minimum at 2^-6.37
    assert np.log2(optimal_lr(lrs, losses)) == pytest.approx(-6.37, abs=1e-9)
    losses[-1] = np.inf                                  # a diverged run far from the minimum changes nothing
    assert np.log2(optimal_lr(lrs, losses)) == pytest.approx(-6.37, abs=1e-9)
    assert optimal_lr(lrs, np.r_[np.ones(8), 0.5]) == lrs[-1]      # minimum at the edge: no extrapolation


def test_optimal_lr_validates():
    with pytest.raises(ValueError, match="increasing"):
        optimal_lr([0.1, 0.01, 0.001], [1.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="every run diverged"):
        optimal_lr([0.1, 0.2, 0.3], [np.inf] * 3)
    with pytest.raises(ValueError, match="equal length"):
        optimal_lr([0.1, 0.2, 0.3], [1.0, 2.0])


def test_lr_curve_shapes_divergence_and_determinism():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 5, generator=gen)
    y = (x[:, 0] > 0).long()
    lrs = [1e-3, 1e-2, 1e3]
    a = lr_curve(x, y, width=16, lrs=lrs, parameterization="mup", steps=20, batch_size=16, n_inits=2, seed=1)
    b = lr_curve(x, y, width=16, lrs=lrs, parameterization="mup", steps=20, batch_size=16, n_inits=2, seed=1)
    assert a.shape == (3, 2)
    np.testing.assert_array_equal(a, b)
    assert np.all(a[1] < a[0])                            # a larger (sane) lr trains further in 20 steps
    with pytest.raises(ValueError, match="parameterization must be one of"):
        lr_curve(x, y, width=16, lrs=lrs, parameterization="ntk")
    with pytest.raises(ValueError, match="lrs must be"):
        lr_curve(x, y, width=16, lrs=[-1.0])
