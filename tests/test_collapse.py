"""Tests for lmlib.collapse, lmlib.theory.collapse and lmlib.data.gaussian_mixture."""
import numpy as np
import pytest
import torch

from lmlib.collapse import class_mean_cosines, collapse_history, mlp_features
from lmlib.data import gaussian_mixture
from lmlib.metrics import neural_collapse
from lmlib.models import MLP
from lmlib.theory.collapse import etf_cosine, etf_gram, simplex_etf


def test_etf_cosine_and_gram():
    assert etf_cosine(2) == -1.0
    assert etf_cosine(10) == pytest.approx(-1 / 9)
    G = etf_gram(5)
    assert torch.allclose(torch.diagonal(G), torch.ones(5, dtype=torch.float64))
    assert G[0, 1].item() == pytest.approx(-0.25)
    assert torch.linalg.matrix_rank(G).item() == 4
    with pytest.raises(ValueError, match="n_classes"):
        etf_cosine(1)


@pytest.mark.parametrize("C,dim", [(3, 2), (5, 5), (10, 32)])
def test_simplex_etf_is_an_etf(C, dim):
    V = simplex_etf(C, dim, seed=3)
    assert V.shape == (C, dim)
    assert torch.allclose(V @ V.T, etf_gram(C), atol=1e-12)
    # A perfect simplex with unit within-class spread zero: NC2 metrics vanish.
    m = neural_collapse(V, torch.arange(C))
    assert m["nc2"] < 1e-10 and m["nc2_angles"] < 1e-10 and m["nc2_equinorm"] < 1e-10


def test_simplex_etf_rejects_small_dim():
    with pytest.raises(ValueError, match="dim"):
        simplex_etf(5, 3)


def test_gaussian_mixture_shapes_seed_and_scale():
    x, y = gaussian_mixture(200, 4, 50, separation=2.0, seed=1)
    assert x.shape == (800, 50) and y.shape == (800,) and x.dtype == torch.float32
    assert torch.equal(y, torch.arange(4).repeat_interleave(200))
    x2, _ = gaussian_mixture(200, 4, 50, separation=2.0, seed=1)
    assert torch.equal(x, x2)
    assert not torch.equal(x, gaussian_mixture(200, 4, 50, separation=2.0, seed=2)[0])
    # noise norm ≈ 1 per example, whatever the dimension
    means = torch.stack([x[y == c].mean(0) for c in range(4)])
    noise = x - means[y]
    assert noise.norm(dim=1).pow(2).mean().item() == pytest.approx(1.0, rel=0.05)
    with pytest.raises(ValueError, match="n_classes"):
        gaussian_mixture(5, 1, 3)
    with pytest.raises(ValueError, match="separation"):
        gaussian_mixture(5, 2, 3, separation=-1.0)


def test_mlp_features_matches_the_module():
    net = MLP((6, 8, 7, 3), "tanh", seed=2)
    x = torch.randn(5, 6)
    state = dict(net.named_parameters())
    h = mlp_features(state, x, activation="tanh")
    manual = torch.tanh(net.linears[1](torch.tanh(net.linears[0](x))))
    assert torch.allclose(h, manual)
    assert torch.allclose(h @ net.linears[2].weight.T + net.linears[2].bias, net(x), atol=1e-6)
    ntk = MLP((6, 8, 3), parameterization="ntk", seed=2)
    h = mlp_features(dict(ntk.named_parameters()), x, multipliers=tuple(ntk.multipliers))
    assert torch.allclose(ntk.multipliers[1] * ntk.linears[1](h), ntk(x), atol=1e-6)
    with pytest.raises(ValueError, match="at least 2"):
        mlp_features({"linears.0.weight": torch.zeros(2, 2)}, x[:, :2])


def test_collapse_history_matches_pointwise_metric():
    torch.manual_seed(0)
    T, N, n, d, C = 3, 2, 12, 5, 3
    H = torch.randn(T, N, n, d, dtype=torch.float64)
    W = torch.randn(T, N, C, d, dtype=torch.float64)
    b = torch.randn(T, N, C, dtype=torch.float64)
    y = torch.arange(C).repeat(n // C)
    out = collapse_history(H.numpy(), y, W.numpy(), b.numpy())
    assert out["nc1"].shape == (T, N) and set(out) >= {"nc1", "nc2", "nc3", "nc4"}
    ref = neural_collapse(H[2, 1], y, W[2, 1], b[2, 1])
    for k in ("nc1", "nc2", "nc3", "nc4"):
        assert out[k][2, 1] == pytest.approx(ref[k])
    single = collapse_history(H[:, 0], y)
    assert single["nc1"].shape == (T,) and "nc3" not in single
    with pytest.raises(ValueError, match="W must have leading shape"):
        collapse_history(H, y, W[:2])


def test_class_mean_cosines():
    V = simplex_etf(4, 6, seed=0)
    feats = torch.cat([V + 0.0, 2 * V - V + 0.0])  # two copies per class, same means
    labels = torch.arange(4).repeat(2)
    cos = class_mean_cosines(feats, labels)
    assert cos.shape == (6,)
    assert np.allclose(cos, -1 / 3, atol=1e-12)
    with pytest.raises(TypeError, match="integer"):
        class_mean_cosines(feats, labels.float())
    with pytest.raises(ValueError, match="one entry per row"):
        class_mean_cosines(feats, labels[:3])
