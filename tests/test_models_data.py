import math

import pytest
import torch

from lmlib.data import low_rank_target, whitened_inputs
from lmlib.models import MLP, DeepLinear


def test_whitened_inputs_are_exactly_white():
    x = whitened_inputs(100, 6, seed=1, dtype=torch.float64)
    torch.testing.assert_close(x.T @ x / 100, torch.eye(6, dtype=torch.float64))
    torch.testing.assert_close(whitened_inputs(100, 6, seed=1), whitened_inputs(100, 6, seed=1))
    with pytest.raises(ValueError, match="n >= d"):
        whitened_inputs(3, 6)


def test_low_rank_target_has_prescribed_spectrum():
    m, a, b = low_rank_target([3.0, 2.0, 0.5], 7, 5, seed=2, dtype=torch.float64)
    assert m.shape == (5, 7) and a.shape == (5, 3) and b.shape == (7, 3)
    sv = torch.linalg.svdvals(m)[:3]
    torch.testing.assert_close(sv, torch.tensor([3.0, 2.0, 0.5], dtype=torch.float64))
    torch.testing.assert_close(a.T @ m @ b, torch.diag(torch.tensor([3.0, 2.0, 0.5], dtype=torch.float64)))
    with pytest.raises(ValueError, match="positive"):
        low_rank_target([1.0, -1.0], 4, 4)
    with pytest.raises(ValueError, match="d_in must be >= 2"):
        low_rank_target([1.0, 1.0], 1, 4)


def test_deep_linear_balanced_init():
    _, a, b = low_rank_target([3.0, 1.0], 6, 4, seed=0, dtype=torch.float64)
    net = DeepLinear((6, 5, 4)).double().init_balanced_([1e-2, 1e-3], a, b)
    torch.testing.assert_close(a.T @ net.end_to_end() @ b, torch.diag(torch.tensor([1e-2, 1e-3], dtype=torch.float64)))
    w1, w2 = net.layers
    # balanced: W1 W1ᵀ = W2ᵀ W2
    torch.testing.assert_close(w1 @ w1.T, w2.T @ w2)
    with pytest.raises(ValueError, match="hidden width"):
        DeepLinear((6, 1, 4)).double().init_balanced_(1e-3, a, b)
    with pytest.raises(ValueError, match="u0 must be positive"):
        DeepLinear((6, 5, 4)).double().init_balanced_(-1.0, a, b)
    with pytest.raises(ValueError, match="left must be"):
        DeepLinear((6, 5, 4)).double().init_balanced_(1e-3, b, a)


def test_deep_linear_validation_and_scale():
    with pytest.raises(ValueError, match="at least 2"):
        DeepLinear((3,))
    with pytest.raises(TypeError, match="dims must be a sequence"):
        DeepLinear(3)
    with pytest.raises(ValueError, match=r"dims\[1\] must be >= 1"):
        DeepLinear((3, 0, 2))
    with pytest.raises(ValueError, match="init_scale must be >= 0"):
        DeepLinear((3, 2), init_scale=-1)
    w = DeepLinear((400, 400), init_scale=2.0).layers[0]
    assert w.std().item() == pytest.approx(2.0 / math.sqrt(400), rel=0.05)


@pytest.mark.parametrize("param", ["sp", "ntk", "mup"])
def test_mlp_parameterizations_have_order_one_preactivations(param):
    net = MLP((16, 2048, 1), "relu", parameterization=param, seed=0)
    x = torch.randn(256, 16)
    hidden = net.multipliers[0] * net.linears[0](x)
    assert 0.3 < hidden.std().item() < 3.0
    out = net(x).std().item()
    assert out < (0.1 if param == "mup" else 3.0)


def test_mlp_validation():
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP((2, 3), "swish")
    with pytest.raises(ValueError, match="parameterization must be one of"):
        MLP((2, 3), parameterization="abc")
