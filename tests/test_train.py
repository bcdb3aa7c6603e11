import numpy as np
import pytest
import torch

from lmlib.data import low_rank_target, whitened_inputs
from lmlib.models import MLP, DeepLinear
from lmlib.train import History, TrainingDiverged, train


def _task(seed=0):
    x = whitened_inputs(64, 4, seed=seed)
    m, _, _ = low_rank_target([2.0, 1.0], 4, 3, seed=seed)
    return x, x @ m.T


def test_records_loss_and_observables():
    x, y = _task()
    net = DeepLinear((4, 8, 3), init_scale=0.5)
    h = train(net, x, y, lr=0.1, steps=20, record={"w": lambda m: m.end_to_end()}, record_every=5)
    assert isinstance(h, History)
    np.testing.assert_array_equal(h.steps, [0, 5, 10, 15, 20])
    assert h.loss.shape == (5,) and h["w"].shape == (5, 3, 4)
    assert h.loss[-1] < h.loss[0]
    assert "w" in h and "nope" not in h
    with pytest.raises(KeyError, match="no observable 'nope'"):
        h["nope"]


def test_full_batch_loss_is_half_mean_squared_norm():
    x, y = _task()
    net = DeepLinear((4, 8, 3), init_scale=0.5)
    expected = 0.5 * ((net(x) - y) ** 2).sum(1).mean().item()
    h = train(net, x, y, lr=0.1, steps=0)
    assert h.loss[0] == pytest.approx(expected, rel=1e-6)


def test_matches_manual_gradient_descent():
    x, y = _task()
    a = DeepLinear((4, 8, 3), init_scale=0.5, seed=1).double()
    b = DeepLinear((4, 8, 3), init_scale=0.5, seed=1).double()
    train(a, x.double(), y.double(), lr=0.05, steps=10)
    for _ in range(10):
        loss = 0.5 * ((b(x.double()) - y.double()) ** 2).sum(1).mean()
        grads = torch.autograd.grad(loss, list(b.parameters()))
        with torch.no_grad():
            for p, g in zip(b.parameters(), grads):
                p -= 0.05 * g
    torch.testing.assert_close(a.end_to_end(), b.end_to_end())


def test_same_seed_same_numbers():
    x, y = _task()
    runs = [train(MLP((4, 16, 3), "tanh", seed=2), x, y, lr=0.1, steps=30, batch_size=8, seed=4).loss
            for _ in range(2)]
    np.testing.assert_array_equal(runs[0], runs[1])
    other = train(MLP((4, 16, 3), "tanh", seed=2), x, y, lr=0.1, steps=30, batch_size=8, seed=5).loss
    assert not np.array_equal(runs[0], other)


def test_cross_entropy_and_adam():
    x = torch.randn(64, 5)
    y = (x[:, 0] > 0).long()
    h = train(MLP((5, 16, 2), seed=0), x, y, lr=1e-2, steps=50, loss="cross_entropy", optimizer="adam")
    assert h.loss[-1] < h.loss[0]


def test_diverging_run_raises_with_hint():
    x, y = _task()
    with pytest.raises(TrainingDiverged, match=r"smaller learning rate.*lr=0\.75"):
        train(DeepLinear((4, 8, 3), init_scale=3.0), 100 * x, y, lr=3.0, steps=100)


def test_allow_divergence_stops_and_flags():
    x, y = _task()
    h = train(DeepLinear((4, 8, 3), init_scale=3.0), 100 * x, y, lr=3.0, steps=100, allow_divergence=True)
    assert h.diverged and len(h.steps) < 101 and not np.isfinite(h.loss[-1])


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(lr=-1.0), ValueError, "lr must be > 0"),
        (dict(lr="big"), TypeError, "lr must be a real number"),
        (dict(steps=-1), ValueError, "steps must be >= 0"),
        (dict(steps=2.5), TypeError, "steps must be an int"),
        (dict(batch_size=1000), ValueError, "batch_size=1000 exceeds"),
        (dict(loss="l1"), ValueError, "loss must be one of"),
        (dict(optimizer="lbfgs"), ValueError, "optimizer must be one of"),
        (dict(record={"loss": len}), ValueError, "'loss' is always recorded"),
        (dict(record={"w": 3}), TypeError, r"record\['w'\] must be a callable"),
        (dict(record_every=0), ValueError, "record_every must be >= 1"),
    ],
)
def test_bad_arguments(kwargs, err, match):
    x, y = _task()
    args = dict(lr=0.1, steps=5)
    args.update(kwargs)
    with pytest.raises(err, match=match):
        train(DeepLinear((4, 8, 3)), x, y, **args)


def test_bad_data_and_model():
    x, y = _task()
    with pytest.raises(ValueError, match="same number of examples"):
        train(DeepLinear((4, 8, 3)), x, y[:10], lr=0.1, steps=1)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        train(lambda z: z, x, y, lr=0.1, steps=1)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        train(DeepLinear((4, 8, 3)), [[1.0]], y, lr=0.1, steps=1)
    with pytest.raises(ValueError, match="does not match y shape"):
        train(DeepLinear((4, 8, 2)), x, y, lr=0.1, steps=1)
