"""lmlib.hessian: HVPs and Lanczos eigenvalues against a dense Hessian."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from lmlib.hessian import HessianOperator, hessian_operator, hvp, sharpness, top_eigenvalues

DTYPES = [torch.float64, torch.float32]
RTOL = {torch.float64: 1e-9, torch.float32: 1e-4}


def make_problem(dtype: torch.dtype, structure: str = "dict"):
    """A 5→16→16→3 tanh MLP (419 parameters) with MSE on 64 random points."""
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3)).to(dtype)
    x = torch.randn(64, 5, generator=gen, dtype=dtype)
    y = torch.randn(64, 3, generator=gen, dtype=dtype)
    names = [name for name, _ in model.named_parameters()]
    values = [p.detach().clone() for p in model.parameters()]
    # ((f − y)²).mean() is F.mse_loss, written out because F.mse_loss breaks
    # under torch.func.jvp(grad) (pytorch#123996), which hvp(method="func") uses.
    if structure == "dict":
        params = dict(zip(names, values))

        def loss_fn(p):
            return ((functional_call(model, p, (x,)) - y) ** 2).mean()
    else:
        params = tuple(values) if structure == "tuple" else list(values)

        def loss_fn(p):
            return ((functional_call(model, dict(zip(names, p)), (x,)) - y) ** 2).mean()
    return model, x, y, params, loss_fn


def flat_values(params) -> list[torch.Tensor]:
    return list(params.values()) if isinstance(params, dict) else list(params)


_DENSE: dict[tuple, torch.Tensor] = {}


def dense_hessian(loss_fn, params) -> torch.Tensor:
    """The full P × P Hessian, by torch.func.hessian on the flattened parameters (tests only).

    Cached per dtype: every caller passes the same problem from make_problem.
    """
    dtype = flat_values(params)[0].dtype
    if dtype not in _DENSE:
        _DENSE[dtype] = _dense_hessian(loss_fn, params)
    return _DENSE[dtype]


def _dense_hessian(loss_fn, params) -> torch.Tensor:
    values = flat_values(params)
    shapes, sizes = [v.shape for v in values], [v.numel() for v in values]
    keys = list(params) if isinstance(params, dict) else None

    def flat_loss(theta):
        pieces = [t.reshape(s) for t, s in zip(torch.split(theta, sizes), shapes)]
        rebuilt = dict(zip(keys, pieces)) if keys is not None else type(params)(pieces)
        return loss_fn(rebuilt)

    return torch.func.hessian(flat_loss)(torch.cat([v.reshape(-1) for v in values]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("structure", ["dict", "tuple"])
def test_top_eigenvalue_matches_dense_within_30_hvps(dtype, structure):
    _, _, _, params, loss_fn = make_problem(dtype, structure)
    H = dense_hessian(loss_fn, params).double()
    assert H.shape == (419, 419)
    exact = torch.linalg.eigvalsh((H + H.T) / 2).flip(0)
    values, info = top_eigenvalues(loss_fn, params, 1, tol=1e-3, return_info=True)
    assert values.shape == (1,) and values.dtype == dtype
    assert abs(values[0].item() - exact[0].item()) / abs(exact[0].item()) <= 1e-3
    assert info["n_hvp"] <= 30 and info["converged"]
    # The default tolerance is reached within 30 HVPs too, to float precision.
    values, info = top_eigenvalues(loss_fn, params, 1, return_info=True)
    assert info["n_hvp"] <= 30
    assert abs(values[0].item() - exact[0].item()) / abs(exact[0].item()) <= 10 * RTOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
def test_top_three_eigenvalues_and_eigenvectors(dtype):
    _, _, _, params, loss_fn = make_problem(dtype)
    H = dense_hessian(loss_fn, params).double()
    exact = torch.linalg.eigvalsh((H + H.T) / 2).flip(0)[:3]
    values, info = top_eigenvalues(loss_fn, params, 3, return_info=True)
    assert values.shape == (3,)
    assert torch.all(values[:-1] >= values[1:])
    torch.testing.assert_close(values.double(), exact, rtol=10 * RTOL[dtype], atol=0)
    vecs = info["eigenvectors"].double()
    assert vecs.shape == (3, 419)
    torch.testing.assert_close(vecs @ vecs.T, torch.eye(3, dtype=torch.float64), atol=1e-5, rtol=0)
    torch.testing.assert_close(vecs @ H @ vecs.T, torch.diag(exact), atol=1e-4 * exact[0].item(), rtol=0)
    assert info["residuals"].shape == (3,)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("structure", ["dict", "tuple", "list"])
@pytest.mark.parametrize("method", ["autograd", "func"])
def test_hvp_matches_dense_hessian(dtype, structure, method):
    _, _, _, params, loss_fn = make_problem(dtype, structure)
    H = dense_hessian(loss_fn, params)
    gen = torch.Generator().manual_seed(1)
    v_values = [torch.randn(p.shape, generator=gen, dtype=dtype) for p in flat_values(params)]
    v = dict(zip(params, v_values)) if structure == "dict" else type(params)(v_values)
    out = hvp(loss_fn, params, v, method=method)
    assert type(out) is type(params)
    flat_out = torch.cat([o.reshape(-1) for o in flat_values(out)])
    expected = H @ torch.cat([t.reshape(-1) for t in v_values])
    torch.testing.assert_close(flat_out, expected, rtol=RTOL[dtype] * 10, atol=RTOL[dtype] * 10)


def test_operator_matvec_counter_and_unflatten():
    _, _, _, params, loss_fn = make_problem(torch.float64)
    H = dense_hessian(loss_fn, params)
    op = hessian_operator(loss_fn, params)
    assert isinstance(op, HessianOperator) and op.dim == 419 and op.n_hvp == 0
    v = torch.randn(op.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(op.matvec(v), H @ v)
    torch.testing.assert_close(op.matvec(v), H @ v)  # the graph survives repeated use
    assert op.n_hvp == 2
    tree = op.unflatten(v)
    assert list(tree) == list(params) and all(tree[k].shape == params[k].shape for k in params)
    assert op.loss == pytest.approx(float(loss_fn(params)))


def test_model_parameters_and_grads_untouched():
    model, x, y, _, _ = make_problem(torch.float64)
    before = [p.detach().clone() for p in model.parameters()]
    params = dict(model.named_parameters())  # live Parameters, requires_grad=True
    loss_fn = lambda p: F.mse_loss(functional_call(model, p, (x,)), y)  # noqa: E731
    top_eigenvalues(loss_fn, params, 2)
    sharpness(model, "mse", x, y)
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_deterministic_and_seed_independent_result():
    _, _, _, params, loss_fn = make_problem(torch.float64)
    a = top_eigenvalues(loss_fn, params, 2, seed=0)
    b = top_eigenvalues(loss_fn, params, 2, seed=0)
    c = top_eigenvalues(loss_fn, params, 2, seed=7)
    assert torch.equal(a, b)
    torch.testing.assert_close(a, c, rtol=1e-8, atol=0)


def test_unused_and_linear_parameters_give_zero_blocks():
    a = torch.tensor([1.0, 2.0], dtype=torch.float64)
    b = torch.tensor([3.0], dtype=torch.float64)
    unused = torch.zeros(4, dtype=torch.float64)
    # Hessian: diag(6·a) block for a (from Σ a³), zero for b (linear) and for unused.
    loss_fn = lambda p: (p[0] ** 3).sum() + 5 * p[1].sum()  # noqa: E731
    out = hvp(loss_fn, (a, b, unused), (torch.ones(2), torch.ones(1), torch.ones(4)))
    torch.testing.assert_close(out[0], torch.tensor([6.0, 12.0], dtype=torch.float64))
    assert torch.equal(out[1], torch.zeros(1, dtype=torch.float64))
    assert torch.equal(out[2], torch.zeros(4, dtype=torch.float64))
    values = top_eigenvalues(loss_fn, (a, b, unused), 3)
    torch.testing.assert_close(values, torch.tensor([12.0, 6.0, 0.0], dtype=torch.float64), atol=1e-10, rtol=0)


def test_exact_on_tiny_quadratic_with_k_equal_dim():
    A = torch.tensor([[2.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, -1.0]], dtype=torch.float64)
    loss_fn = lambda p: 0.5 * p[0] @ A @ p[0]  # noqa: E731
    values, info = top_eigenvalues(loss_fn, [torch.zeros(3, dtype=torch.float64)], 3, return_info=True)
    torch.testing.assert_close(values, torch.linalg.eigvalsh(A).flip(0))
    assert info["n_hvp"] == 3 and info["converged"]


def test_sharpness_of_linear_model_is_known():
    gen = torch.Generator().manual_seed(3)
    n, d = 50, 6
    x = torch.randn(n, d, generator=gen, dtype=torch.float64) * torch.linspace(0.5, 2.0, d, dtype=torch.float64)
    y = torch.randn(n, 1, generator=gen, dtype=torch.float64)
    model = nn.Linear(d, 1, bias=False).double()
    # lmlib's "mse" is ½·mean over examples of (w·x − y)², so H = XᵀX / n.
    expected = torch.linalg.eigvalsh(x.T @ x / n)[-1].item()
    assert sharpness(model, "mse", x, y) == pytest.approx(expected, rel=1e-9)
    # A callable loss without the ½ (F.mse_loss) doubles it.
    assert sharpness(model, F.mse_loss, x, y) == pytest.approx(2 * expected, rel=1e-9)


def test_sharpness_cross_entropy_and_params_subset():
    model, x, _, _, _ = make_problem(torch.float64)
    labels = torch.arange(64) % 3
    full = sharpness(model, "cross_entropy", x, labels)
    p = {k: v.detach() for k, v in model.named_parameters()}
    ref = top_eigenvalues(lambda q: F.cross_entropy(functional_call(model, q, (x,)), labels), p, 1)
    assert full == pytest.approx(ref.item(), rel=1e-9)
    last = {k: v for k, v in model.named_parameters() if k.startswith("4.")}
    sub = sharpness(model, "cross_entropy", x, labels, params=last)
    assert 0 < sub <= full * (1 + 1e-9)  # a principal submatrix's top eigenvalue is smaller


def test_sharpness_leaves_batchnorm_statistics_alone():
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 1)).double().train()
    x = torch.randn(32, 4, dtype=torch.float64)
    y = torch.randn(32, 1, dtype=torch.float64)
    before = model[1].running_mean.clone()
    assert sharpness(model, "mse", x, y) > 0
    assert torch.equal(model[1].running_mean, before)


def test_not_converged_warns():
    _, _, _, params, loss_fn = make_problem(torch.float64)
    with pytest.warns(RuntimeWarning, match="did not reach tol"):
        _, info = top_eigenvalues(loss_fn, params, 1, max_iter=3, tol=1e-12, return_info=True)
    assert not info["converged"] and info["n_hvp"] == 3


def test_bad_arguments_raise_naming_them():
    model, x, y, params, loss_fn = make_problem(torch.float64)
    with pytest.raises(ValueError, match="k must be <="):
        top_eigenvalues(loss_fn, params, 420)
    with pytest.raises(TypeError, match="k must be an int"):
        top_eigenvalues(loss_fn, params, 1.5)
    with pytest.raises(ValueError, match="tol must be > 0"):
        top_eigenvalues(loss_fn, params, tol=0)
    with pytest.raises(ValueError, match="max_iter must be >= k"):
        top_eigenvalues(loss_fn, params, 3, max_iter=2)
    with pytest.raises(TypeError, match="params must be a dict, tuple or list"):
        top_eigenvalues(loss_fn, torch.zeros(3))
    with pytest.raises(TypeError, match=r"params\[0\] must be a torch.Tensor"):
        top_eigenvalues(loss_fn, [1.0, 2.0])
    with pytest.raises(ValueError, match="loss_fn must return a scalar"):
        top_eigenvalues(lambda p: p[0] * 2, (torch.ones(3),))
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        hvp(3, params, params)
    with pytest.raises(ValueError, match="v must have the same structure"):
        hvp(loss_fn, params, list(params.values()))
    bad_v = {k: torch.zeros(1) for k in params}
    with pytest.raises(ValueError, match=r"v\['0.weight'\] must have shape"):
        hvp(loss_fn, params, bad_v)
    with pytest.raises(ValueError, match="method must be one of"):
        hvp(loss_fn, params, params, method="finite-differences")
    with pytest.raises(ValueError, match="v must have length dim"):
        HessianOperator(loss_fn, params).matvec(torch.zeros(5, dtype=torch.float64))
    with pytest.raises(ValueError, match="loss must be one of"):
        sharpness(model, "hinge", x, y)
    with pytest.raises(TypeError, match="loss must be one of .* or a callable"):
        sharpness(model, 3, x, y)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        sharpness(lambda t: t, "mse", x, y)
    with pytest.raises(ValueError, match="model output shape .* does not match y shape"):
        sharpness(model, "mse", x, y[:, 0])
    with pytest.raises(ValueError, match="params names no parameter of model"):
        sharpness(model, "mse", x, y, params={"nope": torch.zeros(1)})
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        sharpness(model, "mse", [1.0], y)


def test_func_route_with_mse_loss_explains_pytorch_bug():
    model, x, y, params, loss_fn = make_problem(torch.float64)
    mse = lambda p: F.mse_loss(functional_call(model, p, (x,)), y)  # noqa: E731
    try:
        out = hvp(mse, params, params, method="func")
    except RuntimeError as err:  # pytorch#123996, present in torch 2.13
        assert "pytorch/pytorch#123996" in str(err)
    else:  # a fixed torch: then it must agree with the autograd route
        ref = hvp(mse, params, params)
        for k in params:
            torch.testing.assert_close(out[k], ref[k])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize("dtype", DTYPES)
def test_gpu_matches_cpu(dtype):
    model, x, y, _, _ = make_problem(dtype)
    cpu = sharpness(model, "mse", x, y)
    gpu = sharpness(model.cuda(), "mse", x.cuda(), y.cuda())
    assert gpu == pytest.approx(cpu, rel=10 * RTOL[dtype])
