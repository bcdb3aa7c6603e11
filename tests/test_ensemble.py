"""train_ensemble: one vmapped run equals N separate lmlib.train.train runs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lmlib.ensemble import EnsembleHistory, load_member, train_ensemble
from lmlib.models import MLP
from lmlib.train import TrainingDiverged, train

N_DATA, D_IN, D_OUT = 40, 5, 3


def make(i: int) -> nn.Module:
    return MLP((D_IN, 8, D_OUT), "tanh", seed=i).double()


@pytest.fixture
def data():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(N_DATA, D_IN, generator=gen, dtype=torch.float64)
    y = torch.randn(N_DATA, D_OUT, generator=gen, dtype=torch.float64)
    return x, y


def loop_reference(x, y, n, *, lr, weight_decay=0.0, momentum=0.0, seeds=None, **kw):
    """Train the members one by one with lmlib.train.train: the ground truth."""
    per = lambda v, i: v[i] if isinstance(v, (list, tuple)) else v  # noqa: E731
    hists, models = [], []
    for i in range(n):
        model = make(i)
        hists.append(train(model, x, y, lr=per(lr, i), weight_decay=per(weight_decay, i),
                           momentum=per(momentum, i), seed=seeds[i] if seeds else 0, progress=False, **kw))
        models.append(model)
    return hists, models


@pytest.mark.parametrize("kw", [
    dict(lr=0.1, optimizer="sgd"),
    dict(lr=[0.05, 0.1, 0.2], optimizer="sgd"),
    dict(lr=[0.05, 0.1, 0.2], optimizer="sgd", momentum=0.9, weight_decay=[0.0, 1e-2, 1e-1]),
    dict(lr=[1e-3, 1e-2, 3e-2], optimizer="adam", weight_decay=1e-2),
    dict(lr=[1e-3, 1e-2, 3e-2], optimizer="adamw", weight_decay=[0.0, 1e-2, 1e-1]),
    dict(lr=[0.05, 0.1, 0.2], optimizer="sgd", momentum=0.5, batch_size=8),
    dict(lr=1e-2, optimizer="adam", batch_size=8, record_every=7),
], ids=["sgd", "sgd-per-lr", "sgd-mom-wd", "adam-wd", "adamw-per-wd", "sgd-minibatch", "adam-minibatch"])
def test_equals_one_by_one_training(data, kw):
    x, y = data
    hist = train_ensemble(make, x, y, n_members=3, steps=25, progress=False, **kw)
    refs, models = loop_reference(x, y, 3, steps=25, **kw)
    for i, (ref, model) in enumerate(zip(refs, models)):
        np.testing.assert_array_equal(hist.steps, ref.steps)
        np.testing.assert_allclose(hist["loss"][:, i], ref["loss"], rtol=1e-5, atol=1e-10)
        trained = load_member(make(99), hist.params, i)
        for (name, p), q in zip(model.named_parameters(), trained.parameters()):
            torch.testing.assert_close(q, p, rtol=1e-5, atol=1e-8, msg=f"member {i} {name}")


def test_independent_batches_match_train_with_shifted_seeds(data):
    x, y = data
    hist = train_ensemble(make, x, y, n_members=3, lr=0.1, steps=15, batch_size=8, seed=5,
                          same_batches=False, progress=False)
    refs, _ = loop_reference(x, y, 3, lr=0.1, steps=15, batch_size=8, seeds=[5, 6, 7])
    for i, ref in enumerate(refs):
        np.testing.assert_allclose(hist["loss"][:, i], ref["loss"], rtol=1e-5)


def test_member_data_trains_each_member_on_its_own_data(data):
    x, y = data
    xs, ys = torch.stack([x, 2 * x]), torch.stack([y, -y])
    hist = train_ensemble(make, xs, ys, n_members=2, lr=0.1, steps=10, member_data=True,
                          batch_size=8, progress=False)
    for i in range(2):
        ref = train(make(i), xs[i], ys[i], lr=0.1, steps=10, batch_size=8, progress=False)
        np.testing.assert_allclose(hist["loss"][:, i], ref["loss"], rtol=1e-5)


def test_record_shapes_and_member_history(data):
    x, y = data
    skeleton = make(0)  # any module of the architecture; built outside vmap (its init is random)
    record = {
        "w_norm": lambda p: p["linears.0.weight"].norm(),
        "out": lambda p: torch.func.functional_call(skeleton, p, (x[:4],)),
    }
    hist = train_ensemble(make, x, y, n_members=4, lr=0.1, steps=10, record=record, record_every=3,
                          progress=False)
    assert isinstance(hist, EnsembleHistory) and hist.n_members == 4
    np.testing.assert_array_equal(hist.steps, [0, 3, 6, 9, 10])
    assert hist["loss"].shape == (5, 4) and hist.loss is hist["loss"]
    assert hist["w_norm"].shape == (5, 4)
    assert hist["out"].shape == (5, 4, 4, D_OUT)
    one = hist.member(2)
    assert one.loss.shape == (5,) and one["out"].shape == (5, 4, D_OUT) and not one.diverged
    assert hist.member(-1).loss[0] == hist["loss"][0, 3]
    assert hist.params["linears.0.weight"].shape == (4, 8, D_IN)
    assert repr(hist) == "EnsembleHistory(members=4, records=5, observables=['loss', 'out', 'w_norm'], diverged=0)"
    with pytest.raises(KeyError, match="no observable 'nope'"):
        hist["nope"]
    with pytest.raises(IndexError, match="out of range"):
        hist.member(4)


def test_observable_that_is_not_vmappable_is_explained(data):
    x, y = data
    with pytest.raises(Exception, match=r"record\['bad'\] failed under vmap"):
        train_ensemble(make, x, y, n_members=2, lr=0.1, steps=2, progress=False,
                       record={"bad": lambda p: torch.tensor(p["linears.0.weight"].sum().item())})


def test_input_models_are_not_modified_and_load_member_restores(data):
    x, y = data
    models = [make(i) for i in range(2)]
    before = [m.linears[0].weight.clone() for m in models]
    hist = train_ensemble(models, x, y, lr=0.1, steps=5, progress=False)
    for m, b in zip(models, before):
        assert torch.equal(m.linears[0].weight, b)
    target = hist.load_member(make(7), 1)
    assert torch.equal(target.linears[0].weight, hist.params["linears.0.weight"][1])
    with pytest.raises(ValueError, match="params do not match"):
        load_member(MLP((D_IN, 9, D_OUT)).double(), {"x": torch.zeros(2, 1)}, 0)


def test_single_module_sweeps_lr_from_one_init(data):
    x, y = data
    hist = train_ensemble(make(0), x, y, lr=[0.01, 0.1], steps=5, progress=False)
    assert hist.n_members == 2 and hist["loss"][0, 0] == hist["loss"][0, 1]
    assert hist["loss"][-1, 1] < hist["loss"][-1, 0]
    np.testing.assert_array_equal(hist.lr, [0.01, 0.1])


def test_divergence_raises_naming_member_and_lr(data):
    x, y = data
    # float64 takes a while to overflow: lr=1e4 reaches inf in ~35 steps.
    with pytest.raises(TrainingDiverged, match=r"member\(s\) \[2\] \(lr=10000\).*smaller"):
        train_ensemble(make, x, y, n_members=3, lr=[0.01, 0.1, 1e4], steps=60, progress=False)


def test_allow_divergence_freezes_diverged_members(data):
    x, y = data
    lrs = [0.01, 0.1, 1e4]
    hist = train_ensemble(make, x, y, n_members=3, lr=lrs, steps=60, allow_divergence=True, progress=False)
    np.testing.assert_array_equal(hist.diverged, [False, False, True])
    assert hist.diverged_step[2] >= 0 and (hist.diverged_step[:2] == -1).all()
    assert not np.isfinite(hist["loss"][-1, 2]) and np.isfinite(hist["loss"][:, :2]).all()
    # The healthy members are untouched by their neighbour's blow-up.
    refs, _ = loop_reference(x, y, 2, lr=lrs[:2], steps=60)
    for i in range(2):
        np.testing.assert_allclose(hist["loss"][:, i], refs[i]["loss"], rtol=1e-5)
    short = hist.member(2)
    assert short.diverged and not np.isfinite(short.loss[-1]) and np.isfinite(short.loss[:-1]).all()


def test_same_seed_is_deterministic(data):
    x, y = data
    kw = dict(n_members=3, lr=0.1, steps=10, batch_size=8, same_batches=False, seed=3, progress=False)
    a, b = train_ensemble(make, x, y, **kw), train_ensemble(make, x, y, **kw)
    np.testing.assert_array_equal(a["loss"], b["loss"])
    c = train_ensemble(make, x, y, **{**kw, "seed": 4})
    assert not np.array_equal(a["loss"], c["loss"])


def test_cross_entropy_float32(data):
    x, _ = data
    labels = torch.arange(N_DATA) % D_OUT
    hist = train_ensemble(lambda i: MLP((D_IN, 8, D_OUT), seed=i), x.float(), labels, n_members=2,
                          lr=0.5, steps=20, loss="cross_entropy", progress=False)
    assert hist["loss"][-1].max() < hist["loss"][0].min()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(models=[make(0), MLP((D_IN, 9, D_OUT)).double()], n_members=None), ValueError, "one architecture"),
    (dict(lr=[0.1, 0.2]), ValueError, "lr has 2 values but the ensemble has 3 members"),
    (dict(lr=-0.1), ValueError, "lr must be > 0"),
    (dict(lr="fast"), TypeError, "lr must be a number"),
    (dict(weight_decay=[0.0, -1.0, 0.0]), ValueError, "weight_decay must be >= 0"),
    (dict(optimizer="rmsprop"), ValueError, "optimizer must be one of"),
    (dict(optimizer=lambda ps: torch.optim.SGD(ps, lr=0.1)), TypeError, "optimizer must be"),
    (dict(optimizer="adam", momentum=0.9), ValueError, "momentum"),
    (dict(models=make, n_members=None), ValueError, "n_members is required"),
    (dict(models=[make(0), make(1)], n_members=3), ValueError, "n_members=3 but 2 models"),
    (dict(models=[make(0), "net"]), TypeError, r"models\[1\]"),
    (dict(steps=-1), ValueError, "steps must be >= 0"),
    (dict(batch_size=1000), ValueError, "batch_size=1000 exceeds"),
    (dict(y=torch.zeros(3, D_OUT)), ValueError, "same number of examples"),
    (dict(member_data=True), ValueError, "leading member axis"),
    (dict(record={"loss": lambda p: p}), ValueError, "'loss' is always recorded"),
    (dict(record={"w": 3}), TypeError, r"record\['w'\]"),
])
def test_bad_arguments(data, kwargs, error, match):
    x, y = data
    call = dict(models=make, x=x, y=y, n_members=3, lr=0.1, steps=2, progress=False) | kwargs
    with pytest.raises(error, match=match):
        train_ensemble(call.pop("models"), call.pop("x"), call.pop("y"), **call)


def test_train_and_ensemble_do_not_import_each_other_lazily():
    import lmlib.train

    assert not hasattr(lmlib.train, "train_ensemble")  # import it from lmlib.ensemble


def test_dropout_members_draw_their_own_masks():
    from torch import nn as _nn

    torch.manual_seed(0)
    make = lambda i: _nn.Sequential(_nn.Linear(4, 16), _nn.Dropout(0.5), _nn.ReLU(), _nn.Linear(16, 1))  # noqa: E731
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    # identical initialisations: only the dropout masks can make the members differ
    base = make(0)
    hist = train_ensemble([base, base], x, y, lr=0.1, steps=5)
    assert np.isfinite(hist.loss).all()
    assert not np.allclose(hist.loss[-1, 0], hist.loss[-1, 1])


def test_schedule_betas_and_param_lr_match_torch():
    """lr_schedule, betas and param_lr reproduce torch.optim param groups + LambdaLR exactly."""
    from lmlib.ensemble import train_ensemble as te
    from lmlib.train import train as tr

    torch.manual_seed(0)
    x, y = torch.randn(32, 4), torch.randn(32, 2)
    sched = lambda t: 0.5 * (1 + np.cos(np.pi * t / 20))  # noqa: E731
    ref = MLP((4, 8, 2), "tanh", seed=3)
    net = MLP((4, 8, 2), "tanh", seed=3)
    mult = {"linears.0.weight": 4.0, "linears.1.weight": 0.25}
    groups = [{"params": [p], "lr": 1e-2 * mult.get(k, 1.0)} for k, p in ref.named_parameters()]
    opt = lambda _params: torch.optim.AdamW(groups, betas=(0.9, 0.98), weight_decay=0.1)  # noqa: E731
    h1 = tr(ref, x, y, lr=1e-2, steps=20, optimizer=opt, lr_schedule=sched)
    h2 = te([net], x, y, lr=1e-2, steps=20, optimizer="adamw", weight_decay=0.1, betas=(0.9, 0.98),
            lr_schedule=sched, param_lr=mult)
    np.testing.assert_allclose(h2["loss"][:, 0], h1["loss"], rtol=1e-5, atol=1e-7)
    for k, p in ref.named_parameters():
        torch.testing.assert_close(h2.params[k][0], p.detach(), rtol=1e-5, atol=1e-6)


def test_per_member_schedule_and_bad_arguments():
    from lmlib.ensemble import train_ensemble as te

    x, y = torch.randn(16, 3), torch.randn(16, 1)
    make = lambda i: MLP((3, 4, 1), seed=i)  # noqa: E731
    # A zero factor for member 1 freezes it: its loss never changes.
    h = te(make, x, y, n_members=2, lr=0.1, steps=5, lr_schedule=lambda t: [1.0, 0.0])
    assert np.allclose(h["loss"][:, 1], h["loss"][0, 1]) and h["loss"][-1, 0] < h["loss"][0, 0]
    with pytest.raises(ValueError, match="one per member"):
        te(make, x, y, n_members=2, lr=0.1, steps=2, lr_schedule=lambda t: [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="unknown parameters"):
        te(make, x, y, n_members=2, lr=0.1, steps=2, param_lr={"nope": 2.0})
    with pytest.raises(ValueError, match="betas"):
        te(make, x, y, n_members=2, lr=0.1, steps=2, optimizer="adam", betas=(0.9, 1.5))
