"""Tests for lmlib.ntk: the empirical NTK against explicit Jacobians, kernel regression against a
direct solve, eigenlearning against measured kernel regression on the hypercube, and the exact
hypercube spectrum against brute-force eigendecomposition."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from lmlib import ntk
from lmlib.ntk import eigenlearning, empirical_ntk, kernel_regression
from lmlib.theory.kernels import hypercube, hypercube_eigenvalues, relu_ntk, relu_ntk_dot, walsh, walsh_subsets

DT = torch.float64


def explicit_ntk(model, x1, x2):
    """Reference: per-example, per-output autograd loop, Θ[a, b, i, j] = J1[a, i] · J2[b, j]."""
    params = [p for p in model.parameters() if p.requires_grad]

    def jac(x):
        rows = []
        for a in range(x.shape[0]):
            out = model(x[a : a + 1]).reshape(-1)
            per_out = []
            for i in range(out.shape[0]):
                gs = torch.autograd.grad(out[i], params, retain_graph=True, allow_unused=True)
                per_out.append(torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1)
                                          for g, p in zip(gs, params)]))
            rows.append(torch.stack(per_out))
        return torch.stack(rows)  # [n, k, P]

    return torch.einsum("aip,bjp->abij", jac(x1), jac(x2))


class NTKParamMLP(nn.Module):
    """MLP in NTK parameterization: multipliers outside the Linear layers, one layer without bias,
    an in-place ReLU, and a scalar ([n]) or vector ([n, k]) output."""

    def __init__(self, d=4, m=12, k=None):
        super().__init__()
        self.k, self.m = k, m
        self.l1 = nn.Linear(d, m)
        self.l2 = nn.Linear(m, m, bias=False)
        self.l3 = nn.Linear(m, k or 1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        h = self.act(self.l1(x))
        h = torch.tanh(self.l2(h) / math.sqrt(self.m))
        out = self.l3(h) / math.sqrt(self.m)
        return out[:, 0] if self.k is None else out


def rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.fixture
def xs():
    g = torch.Generator().manual_seed(0)
    return torch.randn(5, 4, generator=g, dtype=DT), torch.randn(7, 4, generator=g, dtype=DT)


# ----------------------------------------------------------------------------- empirical NTK
@pytest.mark.parametrize("method", ["linear", "jacobian"])
@pytest.mark.parametrize("k", [None, 1, 3])
def test_ntk_matches_explicit_jacobian(method, k, xs):
    torch.manual_seed(1)
    model = NTKParamMLP(k=k).to(DT)
    x1, x2 = xs
    ref = explicit_ntk(model, x1, x2)  # [5, 7, k, k]
    trace = empirical_ntk(model, x1, x2, method=method)
    full = empirical_ntk(model, x1, x2, mode="full", method=method)
    assert trace.shape == (5, 7)
    assert rel_err(trace, torch.einsum("abii->ab", ref)) < 1e-8
    if k is None:  # scalar outputs have no output axes, whatever the mode
        assert full.shape == (5, 7)
        assert rel_err(full, ref[:, :, 0, 0]) < 1e-8
    else:
        assert full.shape == (5, 7, k, k)
        assert rel_err(full, ref) < 1e-8


@pytest.mark.parametrize("method", ["linear", "jacobian"])
def test_ntk_x2_defaults_to_x1_and_is_psd(method, xs):
    torch.manual_seed(2)
    model = NTKParamMLP(k=2).to(DT)
    x1 = xs[0]
    K = empirical_ntk(model, x1, method=method)
    assert torch.allclose(K, empirical_ntk(model, x1, x1, method=method), rtol=1e-12, atol=0)
    assert torch.allclose(K, K.T, rtol=1e-12, atol=1e-14)
    assert torch.linalg.eigvalsh(K).min() > -1e-10


def test_ntk_linear_counts_only_trainable_parameters(xs):
    torch.manual_seed(3)
    model = NTKParamMLP(k=2).to(DT)
    model.l1.weight.requires_grad_(False)  # a half-frozen layer: only its bias counts
    model.l2.requires_grad_(False)  # a frozen layer
    x1, x2 = xs
    ref = torch.einsum("abii->ab", explicit_ntk(model, x1, x2))
    assert rel_err(empirical_ntk(model, x1, x2, method="linear"), ref) < 1e-8
    assert rel_err(empirical_ntk(model, x1, x2, method="jacobian"), ref) < 1e-8


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 3, kernel_size=2)
        self.out = nn.Linear(9, 1)

    def forward(self, x):
        return self.out(torch.tanh(self.conv(x[:, None, :])).flatten(1))


class ScaledLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 6)
        self.gain = nn.Parameter(torch.tensor(1.3))  # a parameter outside any nn.Linear

    def forward(self, x):
        return (self.gain * torch.tanh(self.lin(x))).sum(1)


class SequenceModel(nn.Module):
    """A Linear applied to [n, T, d]: shares weights across positions, so not factorisable."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 3)

    def forward(self, x):
        return torch.tanh(self.lin(x.reshape(x.shape[0], 2, 2))).sum((1, 2))


class TiedTwice(nn.Module):
    """The same Linear called twice."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        return self.lin(torch.tanh(self.lin(x))).sum(1)


@pytest.mark.parametrize("cls", [ConvNet, ScaledLinear, SequenceModel, TiedTwice])
def test_ntk_auto_falls_back_to_jacobian(cls, xs, monkeypatch):
    torch.manual_seed(4)
    model = cls().to(DT)
    x1, x2 = xs
    calls = []
    jacobian = ntk._ntk_jacobian
    monkeypatch.setattr(ntk, "_ntk_jacobian", lambda *a: calls.append(1) or jacobian(*a))
    K = empirical_ntk(model, x1, x2)
    assert calls == [1]
    assert rel_err(K, explicit_ntk(model, x1, x2)[:, :, 0, 0]) < 1e-8
    with pytest.raises(ValueError, match="method='linear'"):
        empirical_ntk(model, x1, x2, method="linear")


def test_ntk_auto_uses_linear_route_for_linear_stacks(xs, monkeypatch):
    monkeypatch.setattr(ntk, "_ntk_jacobian", lambda *a: pytest.fail("jacobian route used"))
    empirical_ntk(NTKParamMLP(k=2).to(DT), xs[0])


def test_ntk_batchnorm_training_mode_raises_eval_works(xs):
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 1)).to(DT)
    with pytest.raises(ValueError, match="eval"):
        empirical_ntk(model, xs[0])
    model.eval()
    K = empirical_ntk(model, xs[0], xs[1])
    assert rel_err(K, explicit_ntk(model, xs[0], xs[1])[:, :, 0, 0]) < 1e-8


def test_ntk_float32_default_dtype_and_no_grad_context():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    x = torch.randn(6, 3)
    with torch.no_grad():  # the NTK needs gradients internally, whatever the caller's context
        a = empirical_ntk(model, x, method="linear")
        b = empirical_ntk(model, x, method="jacobian")
    assert a.dtype == torch.float32 and not a.requires_grad
    assert rel_err(a, b) < 1e-5


def test_ntk_bad_arguments(xs):
    model = NTKParamMLP().to(DT)
    x1, _ = xs
    with pytest.raises(TypeError, match="model"):
        empirical_ntk(lambda x: x, x1)
    with pytest.raises(TypeError, match="x1"):
        empirical_ntk(model, x1.tolist())
    with pytest.raises(ValueError, match="x2"):
        empirical_ntk(model, x1, torch.randn(3, 5, dtype=DT))
    with pytest.raises(ValueError, match="mode"):
        empirical_ntk(model, x1, mode="diag")
    with pytest.raises(ValueError, match="method"):
        empirical_ntk(model, x1, method="fast")
    frozen = NTKParamMLP().to(DT).requires_grad_(False)
    with pytest.raises(ValueError, match="trainable"):
        empirical_ntk(frozen, x1)
    cube = nn.Sequential(nn.Linear(4, 4), nn.Unflatten(1, (2, 2))).to(DT)  # outputs [n, 2, 2]
    for method in ("linear", "jacobian"):
        with pytest.raises(ValueError, match="model output"):
            empirical_ntk(cube, x1, method=method)


# ----------------------------------------------------------------------------- kernel regression
def _kernel_problem(n=12, m=5, k=None, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n + m, 3))
    K = np.exp(-((X[:, None] - X[None]) ** 2).sum(-1) / 2)
    y = rng.standard_normal((n,) if k is None else (n, k))
    return K[:n, :n], y, K[n:, :n]


@pytest.mark.parametrize("ridge", [0.0, 0.3])
@pytest.mark.parametrize("k", [None, 2])
def test_kernel_regression_matches_numpy_solve(ridge, k):
    K, y, Kx = _kernel_problem(k=k)
    expected = Kx @ np.linalg.solve(K + ridge * np.eye(len(K)), y)
    got = kernel_regression(torch.from_numpy(K), torch.from_numpy(y), torch.from_numpy(Kx), ridge)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-7, atol=1e-9)
    # NumPy inputs are accepted too
    np.testing.assert_allclose(kernel_regression(K, y, Kx, ridge=ridge).numpy(), expected, rtol=1e-7, atol=1e-9)


def test_kernel_regression_singular_gram_uses_minimum_norm_interpolant():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((6, 2))
    X = np.concatenate([X, X[:2]])  # repeated training points: K is singular at ridge 0
    K, y = X @ X.T, np.concatenate([rng.standard_normal(6), np.zeros(2)])
    y[6:] = y[:2]
    Xt = rng.standard_normal((4, 2))
    got = kernel_regression(torch.from_numpy(K), torch.from_numpy(y), torch.from_numpy(Xt @ X.T))
    np.testing.assert_allclose(got.numpy(), Xt @ X.T @ np.linalg.pinv(K) @ y, rtol=1e-6, atol=1e-8)


def test_kernel_regression_bad_arguments():
    K, y, Kx = (torch.from_numpy(a) for a in _kernel_problem())
    with pytest.raises(ValueError, match="K_train must be square"):
        kernel_regression(K[:, :-1], y, Kx)
    with pytest.raises(ValueError, match="K_train must be symmetric"):
        kernel_regression(K + torch.triu(torch.ones_like(K), 1) * 0.1, y, Kx)
    with pytest.raises(ValueError, match="y_train"):
        kernel_regression(K, y[:-1], Kx)
    with pytest.raises(ValueError, match="K_test_train"):
        kernel_regression(K, y, Kx[:, :-1])
    with pytest.raises(ValueError, match="ridge"):
        kernel_regression(K, y, Kx, ridge=-1.0)
    with pytest.raises(TypeError, match="K_train"):
        kernel_regression(K.tolist(), y, Kx)
    with pytest.raises(TypeError, match="ridge"):
        kernel_regression(K, y, Kx, ridge="0.1")


# ----------------------------------------------------------------------------- the hypercube
def test_hypercube_points_and_sampling():
    X = hypercube(5, dtype=DT)
    assert X.shape == (32, 5) and X.dtype == DT
    assert len({tuple(r) for r in X.tolist()}) == 32 and set(X.unique().tolist()) == {-1.0, 1.0}
    a, b = hypercube(6, 40, seed=3), hypercube(6, 40, seed=3)
    assert torch.equal(a, b) and not torch.equal(a, hypercube(6, 40, seed=4))
    assert len({tuple(r) for r in a.tolist()}) == 40  # distinct by default
    big = hypercube(30, 500, seed=0)
    assert big.shape == (500, 30) and len({tuple(r) for r in big.tolist()}) == 500
    assert hypercube(3, 50, replace=True).shape == (50, 3)
    with pytest.raises(ValueError, match="n = 9"):
        hypercube(3, 9)
    with pytest.raises(TypeError, match="d"):
        hypercube(2.5)


def test_walsh_monomials_are_orthonormal():
    d = 5
    X = hypercube(d, dtype=DT)
    subsets = walsh_subsets(d)
    assert len(subsets) == 2**d and subsets[0] == () and subsets[1] == (0,)
    assert [len(s) for s in walsh_subsets(d, 2)] == [0] + [1] * 5 + [2] * 10
    F = walsh(X, subsets)
    assert torch.allclose(F.T @ F / 2**d, torch.eye(2**d, dtype=DT))
    with pytest.raises(ValueError, match="subsets"):
        walsh(X, [(0, 5)])
    with pytest.raises(ValueError, match="x"):
        walsh(X[0], [(0,)])


@pytest.mark.parametrize("g", [lambda t: torch.exp(2 * t), relu_ntk_dot,
                               lambda t: relu_ntk_dot(t, bias=False), lambda t: (1 + t) ** 3])
def test_hypercube_eigenvalues_match_brute_force(g):
    d = 6
    X = hypercube(d, dtype=DT)
    lam = hypercube_eigenvalues(g, d)
    assert lam.shape == (d + 1,) and lam.dtype == DT
    # eigenvalues of the integral operator are those of the Gram matrix / 2^d, degree k C(d, k) times
    brute = torch.linalg.eigvalsh(g(X @ X.T / d) / 2**d)
    mult = torch.tensor([math.comb(d, k) for k in range(d + 1)])
    assert torch.allclose(torch.repeat_interleave(lam, mult).sort().values, brute, atol=1e-13)
    # and the Walsh monomial of degree k is the eigenfunction
    subsets = walsh_subsets(d)
    F = walsh(X, subsets)
    degree = torch.tensor([len(s) for s in subsets])
    assert torch.allclose(g(X @ X.T / d) @ F / 2**d, F * lam[degree], atol=1e-13)


def test_hypercube_eigenvalues_large_d_stay_nonnegative():
    # alternating Krawtchouk sums: values below roundoff are zeroed, never left negative
    for g in (relu_ntk_dot, torch.exp):
        lam = hypercube_eigenvalues(g, 40)
        assert (lam >= 0).all() and torch.all(lam[:-1] >= lam[1:])


def test_hypercube_eigenvalues_bad_arguments():
    with pytest.raises(TypeError, match="kernel_of_dot"):
        hypercube_eigenvalues(3.0, 4)
    with pytest.raises(ValueError, match="kernel_of_dot"):
        hypercube_eigenvalues(lambda t: t[:2], 4)
    with pytest.raises(ValueError, match="d"):
        hypercube_eigenvalues(torch.exp, 0)


@pytest.mark.parametrize("bias", [True, False])
def test_relu_ntk_matches_wide_network(bias):
    d, m = 5, 16384
    torch.manual_seed(6)
    first, last = nn.Linear(d, m, bias=bias).to(DT), nn.Linear(m, 1, bias=False).to(DT)
    for p in [*first.parameters(), *last.parameters()]:
        nn.init.normal_(p)
    net = lambda x: last(torch.relu(first(x / math.sqrt(d))) / math.sqrt(m))  # noqa: E731
    model = nn.Module()
    model.first, model.last, model.forward = first, last, net
    x1, x2 = torch.randn(6, d, dtype=DT), torch.randn(4, d, dtype=DT)
    # finite width fluctuates by O(m^-1/2) ≈ 1 % around the limit
    assert rel_err(empirical_ntk(model, x1, x2), relu_ntk(x1, x2, bias=bias)) < 0.05
    X = hypercube(d, dtype=DT)  # with |x|² = d the kernel is a function of x·x'/d alone
    assert torch.allclose(relu_ntk(X, bias=bias), relu_ntk_dot(X @ X.T / d, bias=bias), atol=1e-12)
    with pytest.raises(ValueError, match="x2"):
        relu_ntk(x1, torch.randn(3, d + 1, dtype=DT))


# ----------------------------------------------------------------------------- eigenlearning
D = 10  # 1024 points: all of them are the test set, the theory's population error
TARGET = {(0,): 1.0, (0, 1): 1.0, (0, 1, 2): 1.0}


def _hypercube_setup():
    subsets = walsh_subsets(D)
    lam = hypercube_eigenvalues(relu_ntk_dot, D)[[len(s) for s in subsets]]
    v = torch.tensor([TARGET.get(s, 0.0) for s in subsets], dtype=DT)
    return lam, v


def _measured_krr(n, ridge, noise, repeats, seed0=0):
    """Average test (noisy-label) and train MSE of kernel regression over random training sets."""
    X = hypercube(D, dtype=DT)
    f_all = walsh(X, list(TARGET)).sum(1)
    test, train = [], []
    for r in range(repeats):
        xtr = hypercube(D, n, seed=seed0 + r, dtype=DT)
        gen = torch.Generator().manual_seed(seed0 + r)
        y = walsh(xtr, list(TARGET)).sum(1) + math.sqrt(noise) * torch.randn(n, generator=gen, dtype=DT)
        K = relu_ntk_dot(xtr @ xtr.T / D)
        pred = kernel_regression(K, y, relu_ntk_dot(X @ xtr.T / D), ridge=ridge)
        test.append(((pred - f_all) ** 2).mean().item() + noise)
        train.append(((kernel_regression(K, y, K, ridge=ridge) - y) ** 2).mean().item())
    return np.mean(test), np.mean(train)


@pytest.mark.parametrize("ridge,noise", [(0.0, 0.0), (1e-2, 0.1)])
def test_eigenlearning_predicts_kernel_regression_test_mse(ridge, noise):
    # 20 training sets per n: the worst deviation over 8 seed groups was 6 %; the check is 10 %.
    lam, v = _hypercube_setup()
    ns = [16, 32, 64, 128, 256]
    theory = eigenlearning(lam, v, ns, ridge=ridge, noise=noise)
    assert theory["test_mse"].shape == (5,) and theory["learnabilities"].shape == (5, 2**D)
    for n, predicted in zip(ns, theory["test_mse"]):
        measured, _ = _measured_krr(n, ridge, noise, repeats=20)
        assert abs(measured / predicted - 1) < 0.10, (n, measured, predicted)


def test_eigenlearning_predicts_train_mse():
    # (δ/(nκ))²·test MSE holds where the ridge dominates the finite-population effects (worst
    # deviation over 8 seed groups 11 %, from the small-n variance); at
    # ridge 1e-2 and n = 2^D/4 the measured train error runs ~25 % below it.
    lam, v = _hypercube_setup()
    ridge, noise = 1.0, 0.5
    for n in (16, 64, 256):
        theory = eigenlearning(lam, v, n, ridge=ridge, noise=noise)
        _, measured = _measured_krr(n, ridge, noise, repeats=40)
        assert abs(measured / theory["train_mse"] - 1) < 0.12, (n, measured, theory["train_mse"])


def test_eigenlearning_identities():
    rng = np.random.default_rng(0)
    lam = np.sort(rng.exponential(size=50))[::-1]
    v = rng.standard_normal(50)
    for ridge in (0.0, 0.5):
        out = eigenlearning(lam, v, 20, ridge=ridge, noise=0.2)
        assert isinstance(out["kappa"], float) and out["learnabilities"].shape == (50,)
        kappa, L = out["kappa"], out["learnabilities"]
        assert np.sum(lam / (lam + kappa)) + ridge / kappa == pytest.approx(20, rel=1e-12)
        assert out["e0"] == pytest.approx(20 / (20 - np.sum(L**2)))
        assert out["test_mse"] == pytest.approx(out["e0"] * (np.sum((1 - L) ** 2 * v**2) + 0.2))
    # vector targets sum their squared coefficients over outputs; torch inputs work too
    V = np.stack([v, 2 * v], 1)
    a = eigenlearning(torch.from_numpy(lam.copy()), torch.from_numpy(V), [5, 10], ridge=0.1)
    b = eigenlearning(lam, np.sqrt(5) * v, [5, 10], ridge=0.1)
    np.testing.assert_allclose(a["test_mse"], b["test_mse"], rtol=1e-12)
    # learning curves fall with n, and learnabilities rise
    curve = eigenlearning(lam, v, [1, 4, 16, 40])
    assert np.all(np.diff(curve["test_mse"]) < 0) and np.all(np.diff(curve["learnabilities"], axis=0) > 0)
    # tiny ridge connects continuously to ridge 0
    assert eigenlearning(lam, v, 20, ridge=1e-12)["kappa"] == pytest.approx(
        eigenlearning(lam, v, 20)["kappa"], rel=1e-6)


def test_eigenlearning_bad_arguments():
    lam, v = np.array([1.0, 0.5, 0.0]), np.ones(3)
    with pytest.raises(ValueError, match="nonzero eigenvalues"):
        eigenlearning(lam, v, 2)  # ridge 0, n = number of nonzero modes
    eigenlearning(lam, v, 2, ridge=0.1)  # fine with a ridge
    with pytest.raises(ValueError, match="coefficients"):
        eigenlearning(lam, v[:2], 1)
    with pytest.raises(ValueError, match="eigenvalues"):
        eigenlearning(-lam, v, 1)
    with pytest.raises(ValueError, match="eigenvalues"):
        eigenlearning(np.ones((3, 1)), v, 1)
    with pytest.raises(TypeError, match="eigenvalues"):
        eigenlearning("big", v, 1)
    with pytest.raises(ValueError, match="n must be >= 1"):
        eigenlearning(lam, v, 0)
    with pytest.raises(TypeError, match="n must be an int"):
        eigenlearning(lam, v, 1.5)
    with pytest.raises(ValueError, match="ridge"):
        eigenlearning(lam, v, 1, ridge=-0.1)
    with pytest.raises(ValueError, match="noise"):
        eigenlearning(lam, v, 1, noise=-1.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_everything_runs_on_cuda(xs):
    torch.manual_seed(7)
    model = NTKParamMLP(k=2).to(DT)
    x1, x2 = xs
    for method in ("linear", "jacobian"):
        cpu = empirical_ntk(model, x1, x2, mode="full", method=method)
        gpu = empirical_ntk(model.cuda(), x1.cuda(), x2.cuda(), mode="full", method=method)
        model.cpu()
        assert gpu.is_cuda and rel_err(gpu.cpu(), cpu) < 1e-10
    X = hypercube(6, 20, dtype=DT, device="cuda")
    K = relu_ntk(X)
    pred = kernel_regression(K, X[:, 0], relu_ntk(hypercube(6, dtype=DT, device="cuda"), X), ridge=0.1)
    assert pred.is_cuda and pred.shape == (64,)
