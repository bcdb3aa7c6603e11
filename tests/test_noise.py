"""Tests for lmlib.noise: per-example gradients, the simple noise scale, the critical-batch fit."""
import numpy as np
import pytest
import torch

from lmlib.ensemble import train_ensemble
from lmlib.models import MLP
from lmlib.noise import (critical_batch_curve, fit_critical_batch, noise_scale, noise_scale_observable,
                         per_example_grads, simple_noise_scale, steps_to_target)


def _data(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g, dtype=torch.float64)
    return x, torch.randint(0, 3, (n,), generator=g)


def test_per_example_grads_match_a_loop_over_examples_and_average_to_the_full_gradient():
    x, y = _data()
    model = MLP((5, 7, 3), "tanh", seed=1).double()
    grads = per_example_grads(model, "cross_entropy", x, y)
    for i in (0, 17):
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        for name, p in model.named_parameters():
            torch.testing.assert_close(grads[name][i], p.grad)
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    for name, p in model.named_parameters():
        torch.testing.assert_close(grads[name].mean(0), p.grad)


def test_noise_scale_of_linear_regression_matches_the_closed_form():
    # One parameter w, loss ½(wx − y)² per example: g_i = (w x_i − y_i) x_i, so
    # B_simple = var(g) / mean(g)² with the unbiased variance.
    x, _ = _data(50)
    y = torch.randn(50, 1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    model = torch.nn.Linear(1, 1, bias=False).double()
    xs = x[:, :1]
    out = noise_scale(model, "mse", xs, y)
    g = ((model.weight.detach() * xs - y) * xs).ravel()
    assert out["b_simple"] == pytest.approx(float(g.var() / g.mean() ** 2), rel=1e-10)
    assert out["grad_sq"] == pytest.approx(float(g.mean() ** 2), rel=1e-10)


def test_noise_scale_observable_runs_under_the_ensemble_vmap_and_agrees_with_noise_scale():
    x, y = _data()
    make = lambda i: MLP((5, 6, 3), "tanh", seed=i).double()
    obs = noise_scale_observable(make(0), "cross_entropy", x, y)
    hist = train_ensemble(make, x, y, n_members=2, lr=0.1, steps=3, loss="cross_entropy",
                          record={"b": obs}, record_every=3)
    for i in range(2):
        m = hist.load_member(make(0), i)
        assert hist["b"][-1, i] == pytest.approx(noise_scale(m, "cross_entropy", x, y)["b_simple"], rel=1e-8)


def test_fit_critical_batch_recovers_planted_parameters_and_reports_r2():
    b = 2.0 ** np.arange(1, 11)
    s = critical_batch_curve(b, 120.0, 37.0)
    fit = fit_critical_batch(b, s)
    assert fit["b_crit"] == pytest.approx(37.0, rel=1e-4)
    assert fit["s_min"] == pytest.approx(120.0, rel=1e-4)
    assert fit["r2"] == pytest.approx(1.0, abs=1e-9)
    noisy = s * np.exp(np.random.default_rng(0).normal(0, 0.3, b.size))
    assert fit_critical_batch(b, noisy)["r2"] < 0.999
    with pytest.raises(ValueError, match="positive and finite"):
        fit_critical_batch(b, np.where(b > 100, np.nan, s))
    with pytest.raises(ValueError, match=">= 3"):
        fit_critical_batch(b[:2], s[:2])


def test_steps_to_target_stops_after_the_first_crossing_and_picks_the_fastest_lr():
    x, y = _data(60)
    model = MLP((5, 8, 3), "tanh", seed=2).double()
    out = steps_to_target(model, x, y, lrs=[0.01, 0.3, 1.0], batch_size=None, target=0.8,
                          max_steps=2000, chunk=25, loss="cross_entropy")
    st = out["steps_to_target"]
    assert out["best"] == int(np.nanargmin(st)) and np.isnan(st[0])   # lr 0.01 is far too slow
    assert out["steps"][-1] < np.nanmin(st) + 25 + 1                  # stopped within one chunk
    # Full-batch GD in chunks equals one run: compare with train_ensemble directly.
    ref = train_ensemble(model, x, y, lr=[0.01, 0.3, 1.0], steps=int(out["steps"][-1]), loss="cross_entropy")
    np.testing.assert_allclose(out["loss"][-1], ref.loss[-1], rtol=1e-9)


def test_simple_noise_scale_of_a_gradient_matrix_agrees_with_noise_scale():
    x, y = _data()
    model = MLP((5, 4, 3), "tanh", seed=3).double()
    grads = per_example_grads(model, "cross_entropy", x, y)
    flat = torch.cat([g.reshape(len(x), -1) for g in grads.values()], 1)
    assert simple_noise_scale(flat) == pytest.approx(noise_scale(model, "cross_entropy", x, y)["b_simple"], rel=1e-10)
    with pytest.raises(ValueError, match="grads"):
        simple_noise_scale(np.ones(3))
