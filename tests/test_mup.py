"""μP in lmlib.models: the Table-3 learning rates, and agreement with the reference `mup` package."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from lmlib.models import MLP, mup_lr_multipliers, mup_param_groups


def test_mup_init_variances():
    net = MLP((8, 1024, 1024, 1), parameterization="mup", bias=False, seed=3)
    stds = [lin.weight.std().item() for lin in net.linears]
    assert stds[0] == pytest.approx(1 / math.sqrt(8), rel=0.05)
    assert stds[1] == pytest.approx(1 / math.sqrt(1024), rel=0.02)
    assert stds[2] == pytest.approx(1 / 1024, rel=0.1)        # readout: variance 1/fan_in²


@pytest.mark.parametrize("optimizer, expected", [
    ("sgd", {"linears.0.weight": 64.0, "linears.0.bias": 64.0, "linears.1.weight": 1.0,
             "linears.1.bias": 64.0, "linears.2.weight": 1 / 64, "linears.2.bias": 2.0}),
    ("adam", {"linears.0.weight": 1.0, "linears.0.bias": 1.0, "linears.1.weight": 1 / 64,
              "linears.1.bias": 1.0, "linears.2.weight": 1 / 64, "linears.2.bias": 1.0}),
])
def test_table3_multipliers(optimizer, expected):
    net = MLP((5, 64, 64, 2), parameterization="mup", seed=0)
    assert mup_lr_multipliers(net, optimizer=optimizer) == pytest.approx(expected)


def test_param_groups_cover_every_parameter_once_and_build_an_optimizer():
    net = MLP((5, 32, 16, 32, 3), parameterization="mup", seed=0)
    groups = mup_param_groups(net, 0.01, optimizer="adam")
    assert sorted(id(g["params"][0]) for g in groups) == sorted(id(p) for p in net.parameters())
    lrs = {g["name"]: g["lr"] for g in groups}
    assert lrs["linears.1.weight"] == pytest.approx(0.01 / 32)   # hidden: η/fan_in
    assert lrs["linears.2.weight"] == pytest.approx(0.01 / 16)
    assert lrs["linears.3.weight"] == pytest.approx(0.01 / 32)   # output: η/fan_in
    torch.optim.Adam(groups)                                      # torch accepts the extra "name" key


def test_errors_name_the_argument():
    with pytest.raises(TypeError, match="model must be an lmlib.models.MLP"):
        mup_param_groups(nn.Linear(3, 3), 0.1)
    with pytest.raises(ValueError, match="parameterization='mup'"):
        mup_param_groups(MLP((3, 8, 1)), 0.1)
    with pytest.raises(ValueError, match="hidden layer"):
        mup_param_groups(MLP((3, 1), parameterization="mup"), 0.1)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        mup_param_groups(MLP((3, 8, 1), parameterization="mup"), 0.1, optimizer="lion")
    with pytest.raises(ValueError, match="lr must be > 0"):
        mup_param_groups(MLP((3, 8, 1), parameterization="mup"), 0.0)


def _train(model, opt, x, y, steps):
    outs = []
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        outs.append(model(x).detach().clone())
    return torch.stack(outs)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_agrees_with_the_mup_package(optimizer):
    """Same effective weights, MuReadout + MuSGD/MuAdam vs MLP('mup') + mup_param_groups: same trajectory.

    With a base width of 1 the package's width multiplier is the width itself, which is the
    absolute form of Table 3 that lmlib implements.
    """
    mup = pytest.importorskip("mup")
    torch.manual_seed(0)
    d, n = 6, 96

    class Net(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.fc1 = nn.Linear(d, width, bias=False)
            self.fc2 = nn.Linear(width, width, bias=False)
            self.out = mup.MuReadout(width, 1, bias=False)

        def forward(self, x):
            return self.out(torch.relu(self.fc2(torch.relu(self.fc1(x)))))

    ref = Net(n).double()
    mup.set_base_shapes(ref, Net(1))
    ours = MLP((d, n, n, 1), "relu", parameterization="mup", bias=False, seed=4).double()
    with torch.no_grad():  # copy our weights in; MuReadout divides its input by width_mult = n
        ref.fc1.weight.copy_(ours.linears[0].weight)
        ref.fc2.weight.copy_(ours.linears[1].weight)
        ref.out.weight.copy_(ours.linears[2].weight * n)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(16, d, generator=gen, dtype=torch.float64)
    y = torch.randn(16, 1, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(ref(x), ours(x))
    lr = 0.5 if optimizer == "sgd" else 0.02
    if optimizer == "sgd":
        opt_ref, opt_ours = mup.MuSGD(ref.parameters(), lr=lr), torch.optim.SGD(mup_param_groups(ours, lr))
    else:
        # A tiny ε: the package's readout gradient is n× smaller than ours, so Adam's ε would
        # otherwise enter the two updates differently (a 1e-7 discrepancy, not a μP one).
        opt_ref = mup.MuAdam(ref.parameters(), lr=lr, eps=1e-16)
        opt_ours = torch.optim.Adam(mup_param_groups(ours, lr, optimizer="adam"), eps=1e-16)
    out0 = ours(x).detach().clone()
    out_ref, out_ours = _train(ref, opt_ref, x, y, 5), _train(ours, opt_ours, x, y, 5)
    assert (out_ours[-1] - out0).abs().max() > 1e-3                        # it trained
    torch.testing.assert_close(out_ours, out_ref, rtol=1e-6, atol=1e-8)
