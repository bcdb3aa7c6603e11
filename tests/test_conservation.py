"""The conservation-law closed forms against real torch.optim steps, and the regression data."""
import math

import numpy as np
import pytest
import torch

from lmlib import exercises
from lmlib.data.regression import sine_regression
from lmlib.models import MLP, DeepLinear
from lmlib.theory import conservation as cons
from lmlib.train import loss_function

mse = loss_function("mse")


def _net(activation="relu", seed=0):
    x, y = sine_regression(32, seed=seed, dtype=torch.float64)
    net = MLP((2, 8, 1), activation, seed=seed).double()
    return net, x, y


def _unit_blocks(net):
    l0, l1 = net.linears
    return l0.weight, l1.weight, l0.bias


def _gradients(net, x, y):
    net.zero_grad()
    mse(net(x), y).backward()
    return [p.grad.detach().clone() for p in _unit_blocks(net)]


def test_charges_formula_numpy_and_torch_agree():
    rng = np.random.default_rng(0)
    w_in, w_out, b = rng.normal(size=(5, 3)), rng.normal(size=(2, 5)), rng.normal(size=5)
    q = cons.neuron_charges(w_in, w_out, b)
    manual = [np.sum(w_in[j] ** 2) + b[j] ** 2 - np.sum(w_out[:, j] ** 2) for j in range(5)]
    np.testing.assert_allclose(q, manual, rtol=1e-14)
    qt = cons.neuron_charges(torch.from_numpy(w_in), torch.from_numpy(w_out), torch.from_numpy(b))
    np.testing.assert_allclose(qt.numpy(), q, rtol=1e-14)
    np.testing.assert_allclose(np.diag(cons.balancedness(w_in, w_out)), q - b ** 2, rtol=1e-12)


def test_shape_mismatch_is_named():
    with pytest.raises(ValueError, match="units"):
        cons.neuron_charges(np.ones((4, 3)), np.ones((2, 5)))
    with pytest.raises(ValueError, match="b_in"):
        cons.neuron_charges(np.ones((4, 3)), np.ones((2, 4)), np.ones(3))
    with pytest.raises(ValueError, match="w1"):
        cons.balancedness(np.ones((4, 3)), np.ones((2, 5)))
    with pytest.raises(ValueError, match="sources"):
        cons.gd_charges(np.ones(3), np.ones((5, 4)), 0.1)
    with pytest.raises(ValueError, match="momentum"):
        cons.momentum_charges(np.ones(3), np.ones((5, 3)), 0.1, 1.0)
    with pytest.raises(ValueError, match="lr"):
        cons.gd_charge_step(1.0, 1.0, lr=0.0)


@pytest.mark.parametrize("weight_decay", [0.0, 0.3])
def test_gd_law_is_exact_for_torch_sgd(weight_decay):
    net, x, y = _net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, weight_decay=weight_decay)
    q, sources = [cons.neuron_charges(*_unit_blocks(net)).detach().numpy()], []
    for _ in range(20):
        sources.append(cons.neuron_charges(*_gradients(net, x, y)).numpy())
        opt.step()
        q.append(cons.neuron_charges(*_unit_blocks(net)).detach().numpy())
    pred = cons.gd_charges(q[0], np.stack(sources), 0.1, weight_decay)
    np.testing.assert_allclose(pred, np.stack(q), atol=1e-12)
    assert np.abs(np.stack(q)[-1] - q[0]).max() > 1e-6  # the charges did move: the law is not trivial


def test_gd_law_needs_the_symmetry():
    # A tanh unit is not homogeneous: the cross terms no longer cancel and the law fails.
    net, x, y = _net("tanh")
    q0 = cons.neuron_charges(*_unit_blocks(net)).detach().numpy()
    src = cons.neuron_charges(*_gradients(net, x, y)).numpy()
    torch.optim.SGD(net.parameters(), lr=0.1).step()
    q1 = cons.neuron_charges(*_unit_blocks(net)).detach().numpy()
    assert np.abs(cons.gd_charge_step(q0, src, 0.1) - q1).max() > 1e-4


def test_momentum_law_is_exact_for_torch_sgd():
    net, x, y = _net(seed=1)
    lr, mu, wd = 0.05, 0.9, 0.1
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=mu, weight_decay=wd)
    blocks = [[p.detach().clone() for p in _unit_blocks(net)]]
    for _ in range(30):
        _gradients(net, x, y)
        opt.step()
        blocks.append([p.detach().clone() for p in _unit_blocks(net)])
    q = np.stack([cons.neuron_charges(*b).numpy() for b in blocks])
    r = np.stack([cons.neuron_charges(*[(a - b) / lr for a, b in zip(b0, b1)]).numpy()
                  for b0, b1 in zip(blocks[:-1], blocks[1:])])
    np.testing.assert_allclose(cons.momentum_charges(q[0], r, lr, mu, wd), q, atol=1e-12)
    # Ignoring the momentum term (the plain-GD law driven by the same velocities) is wrong.
    assert np.abs(cons.momentum_charges(q[0], r, lr, 0.0, wd) - q).max() > 1e-4


def test_momentum_zero_reduces_to_gd_law():
    rng = np.random.default_rng(3)
    q0, r = rng.normal(size=4), rng.normal(size=(15, 4))
    # With μ = 0 and λ = 0 the velocity is the gradient, so both laws coincide.
    np.testing.assert_allclose(cons.momentum_charges(q0, r, 0.2, 0.0), cons.gd_charges(q0, r, 0.2), rtol=1e-13)


def test_balancedness_law_for_deep_linear():
    net = DeepLinear((4, 6, 3), init_scale=0.7, seed=2).double()
    x = torch.randn(40, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    y = torch.randn(40, 3, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    G = [cons.balancedness(*net.layers).detach().numpy()]
    src = []
    for _ in range(10):
        net.zero_grad()
        mse(net(x), y).backward()
        src.append(cons.balancedness(net.layers[0].grad, net.layers[1].grad).numpy())
        opt.step()
        G.append(cons.balancedness(*net.layers).detach().numpy())
    np.testing.assert_allclose(cons.gd_charges(G[0], np.stack(src), 0.05), np.stack(G), atol=1e-12)


def test_flow_decay_is_the_small_step_limit():
    q0 = np.array([2.0, -1.0])
    lr, wd, t = 1e-4, 0.5, 2.0
    k = int(round(t / lr))
    discrete = cons.gd_charges(q0, np.zeros((k, 2)), lr, wd)[-1]
    np.testing.assert_allclose(discrete, cons.flow_decay(t, wd) * q0, rtol=1e-4)
    assert abs(cons.flow_decay(t, wd) - math.exp(-2.0)) < 1e-15


def test_half_life():
    k = cons.charge_half_life(0.1, 5e-4)
    assert abs((1 - 0.1 * 5e-4) ** (2 * k) - 0.5) < 1e-12
    assert abs(k - math.log(2) / (2 * 0.1 * 5e-4)) / k < 1e-4
    with pytest.raises(ValueError, match="lr·weight_decay"):
        cons.charge_half_life(2.0, 1.0)


def test_conservation_exercises():
    assert exercises.check("conservation.gd_law",
                           lambda q0, sources, lr, weight_decay: cons.gd_charges(q0, sources, lr, weight_decay),
                           quiet=True)
    # Forgetting weight decay's square (1 − ηλ instead of (1 − ηλ)²) is caught.
    wrong = lambda q0, sources, lr, weight_decay: cons.gd_charges(q0, sources, lr, 0.0) * 1.0  # noqa: E731
    assert not exercises.check("conservation.gd_law", wrong, quiet=True)
    assert exercises.check("conservation.half_life", math.log(2) / (2 * 0.1 * 5e-4), quiet=True)
    assert not exercises.check("conservation.half_life", math.log(2) / (0.1 * 5e-4), quiet=True)


def test_sine_regression():
    x, y = sine_regression(10, seed=3)
    assert x.shape == (10, 2) and y.shape == (10, 1) and x.dtype == torch.float32
    torch.testing.assert_close(y, torch.sin(2 * x[:, :1]) + 0.5 * x[:, 1:])
    x2, _ = sine_regression(10, seed=3, dtype=torch.float64)
    torch.testing.assert_close(x2.float(), x)
    assert not torch.equal(sine_regression(10, seed=4)[0], x)
    with pytest.raises(TypeError, match="dtype"):
        sine_regression(10, dtype=torch.int64)
    with pytest.raises(ValueError, match="n"):
        sine_regression(0)
