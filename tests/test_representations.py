"""Tests for lmlib.representations and lmlib.models.SmallCNN."""
import numpy as np
import pytest
import torch
from torch.func import functional_call

from lmlib.collapse import mlp_features
from lmlib.metrics import linear_cka, mutual_knn
from lmlib.models import MLP, SmallCNN
from lmlib.representations import (
    mean_pairwise, mean_to_reference, member_features, similarity, spearman, stacked_init,
)


def test_small_cnn_shapes_seed_and_features():
    a, b = SmallCNN(seed=3), SmallCNN(seed=3)
    x = torch.rand(5, 64)
    assert torch.equal(a(x), b(x))
    assert not torch.equal(a(x), SmallCNN(seed=4)(x))
    assert a(x).shape == (5, 10) and a.features(x).shape == (5, 64)
    assert torch.allclose(a(x.reshape(5, 1, 8, 8)), a(x))
    assert torch.allclose(a.readout(a.features(x)), a(x))
    # PyTorch's default init bound 1/√fan_in
    assert a.conv1.weight.abs().max() <= 1 / 3 and a.hidden.weight.abs().max() <= 1 / np.sqrt(32 * 16)
    with pytest.raises(ValueError, match="side"):
        SmallCNN(side=7)
    with pytest.raises(ValueError, match="channels"):
        SmallCNN(channels=(4,))


def test_small_cnn_learns_under_train_ensemble():
    from lmlib.ensemble import train_ensemble
    torch.manual_seed(0)
    x = torch.rand(64, 64)
    y = (x[:, :32].sum(1) > x[:, 32:].sum(1)).long()
    run = train_ensemble([SmallCNN(seed=1, out=2), SmallCNN(seed=2, out=2)], x, y, loss="cross_entropy",
                         optimizer="adam", lr=3e-3, steps=60)
    assert (run["loss"][-1] < 0.5 * run["loss"][0]).all()


def test_stacked_init_and_member_features_match_single_models():
    nets = [MLP((6, 5, 4, 3), seed=s) for s in range(3)]
    p = stacked_init(nets)
    assert p["linears.0.weight"].shape == (3, 5, 6)
    x = torch.randn(7, 6)
    h = member_features(mlp_features, p, x)
    assert h.shape == (3, 7, 4)
    for i, net in enumerate(nets):
        assert torch.allclose(h[i], torch.relu(net.linears[1](torch.relu(net.linears[0](x)))), atol=1e-6)
    out = member_features(lambda s, x: functional_call(nets[0], s, (x,)), p, x)
    assert torch.allclose(out[2], nets[2](x), atol=1e-6)
    p["linears.0.weight"].add_(1.0)  # a copy: the models are untouched
    assert not torch.allclose(nets[0].linears[0].weight, p["linears.0.weight"][0])
    with pytest.raises(ValueError, match="empty"):
        stacked_init([])


def test_similarity_averages():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(60, 8, generator=g, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(8, 8, generator=g, dtype=torch.float64))
    reps = torch.stack([base, 2 * base @ q, torch.randn(60, 8, generator=g, dtype=torch.float64)])
    pair = [linear_cka(reps[i], reps[j]) for i, j in [(0, 1), (0, 2), (1, 2)]]
    assert mean_pairwise(reps, "cka") == pytest.approx(np.mean(pair))
    assert similarity(reps[0], reps[1]) == pytest.approx(1.0)
    assert similarity(reps[0], reps[1], "mknn", k=5) == pytest.approx(1.0)
    to_ref = mean_to_reference(reps, base, "mknn", k=5)
    assert to_ref.shape == (3,) and to_ref[0] == pytest.approx(1.0)
    assert to_ref[2] == pytest.approx(mutual_knn(reps[2], base, 5))
    with pytest.raises(ValueError, match="at least 2"):
        mean_pairwise(reps[:1])
    with pytest.raises(ValueError, match="metric"):
        similarity(base, base, "cosine")


def test_spearman():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3, 4, 5], [1, 3, 2, 4, 5]) == pytest.approx(0.9)  # one adjacent swap: 1 − 6·2/120
    with pytest.raises(ValueError, match="constant"):
        spearman([1, 2, 3], [5, 5, 5])
    with pytest.raises(ValueError, match="one length"):
        spearman([1, 2, 3], [1, 2])
