"""The neural tangent kernel, kernel ridge regression, and the theory of its test error.

Read top to bottom, the module follows a chapter's argument:

1. :func:`empirical_ntk` -- Θ(x, x') = Σ_p ∂f(x)/∂θ_p · ∂f(x')/∂θ_p of a network at its current
   parameters (Jacot et al. 2018). In the lazy limit, training on squared loss is
2. :func:`kernel_regression` with that kernel, whose average test error
3. :func:`eigenlearning` predicts from the kernel's eigensystem alone (Bordelon et al. 2020;
   Simon et al. 2021).
4. Kernels whose eigensystem is known exactly — dot-product kernels on the Boolean hypercube,
   the infinite-width ReLU NTK — live in :mod:`lmlib.theory.kernels`.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from scipy.optimize import brentq
from torch import nn
from torch.func import functional_call, jacrev, vmap

from lmlib._checks import check_choice, check_int, check_real, check_tensor

__all__ = ["empirical_ntk", "kernel_regression", "eigenlearning", "kernel_learning_curve"]


# ----------------------------------------------------------------------------- empirical NTK
def empirical_ntk(
    model: nn.Module,
    x1: torch.Tensor,
    x2: torch.Tensor | None = None,
    *,
    mode: str = "trace",
    method: str = "auto",
) -> torch.Tensor:
    """Empirical neural tangent kernel of ``model`` at its current parameters.

    Θ(x, x') = Σ_p ∂f(x)/∂θ_p · ∂f(x')/∂θ_p, summed over the parameters with ``requires_grad``.
    Each example is treated on its own (no per-example Python loop is run): put models with
    dropout or batch norm in ``eval()`` mode first.

    Args:
        model: maps a batch ``[n, ...]`` to outputs ``[n]`` (scalar) or ``[n, k]``.
        x1: first batch of inputs, ``[n1, ...]``.
        x2: second batch ``[n2, ...]`` with the same trailing shape; defaults to ``x1``.
        mode: for ``[n, k]`` outputs, ``"trace"`` sums the output-diagonal blocks Σ_i Θ_ii
            (shape ``[n1, n2]``); ``"full"`` keeps them all (shape ``[n1, n2, k, k]``).
            Scalar ``[n]`` outputs always give ``[n1, n2]``.
        method: ``"linear"`` -- the exact per-layer factorisation, valid when every trainable
            parameter belongs to an ``nn.Linear`` called once on ``[n, d]`` inputs, with
            elementwise operations in between (~20x faster than a loop); ``"jacobian"`` --
            torch.func ``vmap(jacrev)`` for any model; ``"auto"`` -- linear when it applies.

    Returns:
        The kernel, on the device and in the dtype of the model's outputs.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module`` or an input is not a tensor.
        ValueError: for an unknown ``mode``/``method``, mismatched input shapes, a model with no
            trainable parameters, batch norm in training mode, outputs not ``[n]`` or ``[n, k]``,
            or ``method="linear"`` on a model it does not apply to (the message says why).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x1 = check_tensor("x1", x1)
    if x1.ndim == 0:
        raise ValueError("x1 must have a leading batch dimension, got a 0-d tensor")
    if x2 is not None:
        x2 = check_tensor("x2", x2)
        if x2.ndim == 0 or x2.shape[1:] != x1.shape[1:]:
            raise ValueError(f"x2 must have shape [n2, {', '.join(map(str, x1.shape[1:]))}] "
                             f"like x1 {tuple(x1.shape)}, got {tuple(x2.shape)}")
    check_choice("mode", mode, ("trace", "full"))
    check_choice("method", method, ("auto", "linear", "jacobian"))
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ValueError("model has no trainable parameters (none with requires_grad=True)")
    for name, m in model.named_modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training:
            # Batch statistics couple the examples, so ∂f(x_a)/∂θ depends on the whole batch.
            raise ValueError(f"model has batch norm {name!r} in training mode, where the NTK "
                             "depends on the batch; call model.eval() first")
    if method != "jacobian":
        layers, reason = _factorisable_layers(model, params)
        if reason is None:
            try:
                return _ntk_linear(model, layers, x1, x2, mode)
            except _NotFactorisable as err:
                reason = str(err)
        if method == "linear":
            raise ValueError(f"method='linear' does not apply to this model: {reason}; "
                             "use method='jacobian'")
    return _ntk_jacobian(model, params, x1, x2, mode)


class _NotFactorisable(Exception):
    """Raised during the forward pass when the per-layer factorisation turns out not to apply."""


def _factorisable_layers(model: nn.Module, params: dict) -> tuple[list[nn.Module], str | None]:
    # Only plain nn.Linear: a subclass with its own forward (a multiplier inside, say) would
    # break the identity ∂f/∂W = G·Aᵀ that the factorisation rests on.
    layers, owned = [], set()
    for m in model.modules():
        if isinstance(m, nn.Linear) and type(m).forward is nn.Linear.forward:
            trainable = [p for p in m.parameters(recurse=False) if p.requires_grad]
            if any(id(p) in owned for p in trainable):
                return [], "a parameter is shared between nn.Linear layers"
            owned.update(id(p) for p in trainable)
            if trainable:
                layers.append(m)
    for name, p in params.items():
        if id(p) not in owned:
            return [], f"trainable parameter {name!r} is not the weight or bias of an nn.Linear"
    return layers, None


def _as_outputs(f: object, n: int) -> tuple[torch.Tensor, bool]:
    """The model's outputs as ``[n, k]``, and whether they were scalar ``[n]``."""
    if not isinstance(f, torch.Tensor):
        raise TypeError(f"model must return a tensor, got {type(f).__name__}")
    if f.ndim == 1 and f.shape[0] == n:
        return f[:, None], True
    if f.ndim == 2 and f.shape[0] == n:
        return f, False
    raise ValueError(f"model output must have shape [n] or [n, k] for n = {n} inputs, "
                     f"got {tuple(f.shape)}")


def _linear_factors(model: nn.Module, layers: list[nn.Module], x: torch.Tensor):
    """Per layer: its inputs A ``[n, d_in]`` and output gradients G ``[k, n, d_out]``; scalar?; f."""
    n, inputs, outputs = x.shape[0], {}, {}

    def hook(module, args, out):
        a = args[0]
        if module in inputs:
            raise _NotFactorisable("an nn.Linear is called more than once per forward pass")
        if a.ndim != 2 or a.shape[0] != n:
            # [n, T, d] inputs (sequences) share a weight across positions: no per-example
            # rank-one gradient, so no simple factorisation.
            raise _NotFactorisable(f"an nn.Linear sees inputs of shape {tuple(a.shape)}, not [n, d]")
        inputs[module], outputs[module] = a.detach(), out
        # Hand on a copy, so that an in-place op downstream (ReLU(inplace=True)) cannot
        # overwrite the tensor we differentiate with respect to.
        return out.clone()

    handles = [m.register_forward_hook(hook) for m in layers]
    with torch.enable_grad():  # whatever the caller's context: we need the graph
        try:
            f, scalar = _as_outputs(model(x), n)
        finally:
            for h in handles:
                h.remove()
        used = [m for m in layers if m in outputs]
        zs, grads = [outputs[m] for m in used], []
        for i in range(f.shape[1]):  # one batched backward per output dimension, never per example
            gs = torch.autograd.grad(f[:, i].sum(), zs, retain_graph=True, allow_unused=True) \
                if f.requires_grad else [None] * len(zs)
            grads.append([torch.zeros_like(z) if g is None else g for z, g in zip(zs, gs)])
    factors = {m: (inputs[m], torch.stack([g[j] for g in grads]).detach()) for j, m in enumerate(used)}
    return factors, scalar, f


def _ntk_linear(model, layers, x1, x2, mode):
    # For z = W a + b: ∂f/∂W = g aᵀ and ∂f/∂b = g, so Θ(x, x') = Σ_l (g·g')(a·a' + 1):
    # per layer an [n1, n2] Gram matrix of gradients times one of inputs, never an [n, P] Jacobian.
    f1, scalar, out = _linear_factors(model, layers, x1)
    f2 = f1 if x2 is None else _linear_factors(model, layers, x2)[0]
    full = mode == "full" and not scalar
    k, n2 = out.shape[1], (x1 if x2 is None else x2).shape[0]
    theta = out.new_zeros((x1.shape[0], n2, k, k) if full else (x1.shape[0], n2))
    for m in [m for m in f1 if m in f2]:  # a layer unused on either batch contributes 0
        (a1, g1), (a2, g2) = f1[m], f2[m]
        inner = a1 @ a2.T if m.weight.requires_grad else a1.new_zeros(())
        if m.bias is not None and m.bias.requires_grad:
            inner = inner + 1.0
        if full:
            theta += torch.einsum("ian,jbn->abij", g1, g2) * inner[..., None, None]
        else:
            theta += torch.einsum("ian,ibn->ab", g1, g2) * inner
    return theta


def _ntk_jacobian(model, params, x1, x2, mode):
    consts = {name: p.detach() for name, p in params.items()}

    def f_single(p, x):
        out = functional_call(model, p, (x.unsqueeze(0),))
        if not isinstance(out, torch.Tensor) or out.ndim not in (1, 2) or out.shape[0] != 1:
            raise ValueError("model output must have shape [n] or [n, k], got per-example shape "
                             f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out)}")
        return out.reshape(-1), out.squeeze(0)  # the aux output tells [n] from [n, 1]

    jac = vmap(jacrev(f_single, has_aux=True), in_dims=(None, 0))
    j1, out = jac(consts, x1)
    j2 = j1 if x2 is None else jac(consts, x2)[0]
    scalar = out.ndim == 1
    theta = None
    for name in params:  # contract per parameter tensor: no concatenated [n, k·P] copy of J
        a, b = (j[name].reshape(*j[name].shape[:2], -1) for j in (j1, j2))  # [n, k, P_p]
        term = torch.einsum("aip,bjp->abij", a, b) if mode == "full" and not scalar \
            else torch.einsum("aip,bip->ab", a, b)
        theta = term if theta is None else theta + term
    return theta


# ----------------------------------------------------------------------------- kernel regression
def kernel_regression(
    K_train: torch.Tensor,
    y_train: torch.Tensor,
    K_test_train: torch.Tensor,
    ridge: float = 0.0,
) -> torch.Tensor:
    """Kernel ridge regression predictions K_test_train (K_train + ridge·I)⁻¹ y_train.

    Solved by Cholesky. When that fails (a singular Gram matrix at ridge 0, e.g. repeated
    training points) it falls back to the pseudo-inverse, i.e. the minimum-norm interpolant.

    Args:
        K_train: Gram matrix ``[n, n]`` of the training points; symmetric.
        y_train: targets ``[n]`` or ``[n, k]``.
        K_test_train: kernel ``[m, n]`` between test and training points.
        ridge: δ ≥ 0 added to the diagonal of ``K_train`` (not scaled by n).

    Returns:
        Predictions ``[m]`` or ``[m, k]`` (NumPy inputs are converted to tensors).

    Raises:
        TypeError: if an input is not a tensor/array or a kernel is not floating point.
        ValueError: for inconsistent shapes or devices, a non-symmetric ``K_train``, or ``ridge < 0``.
    """
    K = check_tensor("K_train", K_train, ndim=2, floating=True)
    y = check_tensor("y_train", y_train, ndim=(1, 2))
    Kx = check_tensor("K_test_train", K_test_train, ndim=2, floating=True)
    ridge = check_real("ridge", ridge, nonnegative=True)
    n = K.shape[0]
    if K.shape[1] != n:
        raise ValueError(f"K_train must be square, got shape {tuple(K.shape)}")
    if y.shape[0] != n:
        raise ValueError(f"y_train must have n = {n} rows like K_train, got shape {tuple(y.shape)}")
    if Kx.shape[1] != n:
        raise ValueError(f"K_test_train must have n = {n} columns, got shape {tuple(Kx.shape)}")
    for name, t in (("y_train", y), ("K_test_train", Kx)):
        if t.device != K.device:
            raise ValueError(f"{name} is on {t.device} but K_train is on {K.device}")
    dtype = torch.promote_types(K.dtype, Kx.dtype)
    K, Kx, y = K.to(dtype), Kx.to(dtype), y.to(dtype)
    # Tolerance √eps relative: kernels built by summation are symmetric only to roundoff.
    scale = K.abs().max().clamp_min(torch.finfo(dtype).tiny)
    if (K - K.T).abs().max() > math.sqrt(torch.finfo(dtype).eps) * scale:
        raise ValueError("K_train must be symmetric; got max |K - Kᵀ| = "
                         f"{(K - K.T).abs().max().item():.3g} (max |K| = {scale.item():.3g})")
    A = (K + K.T) / 2 + ridge * torch.eye(n, dtype=dtype, device=K.device)
    Y = y[:, None] if y.ndim == 1 else y
    L, info = torch.linalg.cholesky_ex(A)
    if int(info) == 0:
        alpha = torch.cholesky_solve(Y, L)
    else:
        alpha = torch.linalg.pinv(A, hermitian=True) @ Y
    pred = Kx @ alpha
    return pred[:, 0] if y.ndim == 1 else pred


def kernel_learning_curve(
    K: torch.Tensor,
    y: torch.Tensor,
    ns: Sequence[int],
    draws: int,
    *,
    seed: int = 0,
) -> np.ndarray:
    """Measured population test error of ridgeless kernel regression on a finite population.

    For each n, ``draws`` training sets of n distinct points are drawn uniformly from the N
    points of the population, kernel regression is fitted on each (all draws in one batched
    Cholesky solve), and its mean squared error is measured on *all* N points -- the error
    under the uniform measure on the population, which is what :func:`eigenlearning` predicts.

    Args:
        K: Gram matrix ``[N, N]`` of the whole population, symmetric positive definite.
        y: targets ``[N]``.
        ns: training-set sizes, each in [1, N].
        draws: number of training sets per n.
        seed: seed of the draws.

    Returns:
        Float64 array ``[len(ns), draws]`` of test MSEs.

    Raises:
        TypeError, ValueError: for bad shapes or sizes.
    """
    K = check_tensor("K", K, ndim=2, floating=True).double()
    y = check_tensor("y", y, ndim=1).double().to(K.device)
    N = K.shape[0]
    if K.shape[1] != N or y.shape[0] != N:
        raise ValueError(f"need K [N, N] and y [N]; got {tuple(K.shape)} and {tuple(y.shape)}")
    draws = check_int("draws", draws, minimum=1)
    gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    out = np.empty((len(ns), draws))
    for row, n in enumerate(ns):  # one batched solve per n: the draws never loop in Python
        n = check_int("n", n, minimum=1)
        if n > N:
            raise ValueError(f"n = {n} exceeds the population size N = {N}")
        idx = torch.argsort(torch.rand(draws, N, generator=gen), dim=1)[:, :n].to(K.device)
        L = torch.linalg.cholesky(K[idx[:, :, None], idx[:, None, :]])
        alpha = torch.cholesky_solve(y[idx][..., None], L)
        pred = (K[:, idx].permute(1, 0, 2) @ alpha)[..., 0]        # [draws, N]
        out[row] = ((pred - y) ** 2).mean(1).cpu().numpy()
    return out


# ----------------------------------------------------------------------------- eigenlearning
def eigenlearning(
    eigenvalues,
    coefficients,
    n: int | Sequence[int],
    ridge: float = 0.0,
    noise: float = 0.0,
) -> dict:
    """Predicted generalisation of kernel ridge regression from the kernel's eigensystem.

    Convention: K(x, x') = Σ_i λ_i φ_i(x) φ_i(x') with E_{x~μ}[φ_i φ_j] = δ_ij under the data
    distribution μ (λ_i are eigenvalues of the integral operator, not of the n×n Gram matrix:
    for a finite population of N points, use eig(K/N) and φ_i = √N·u_i). The target is
    f = Σ_i v_i φ_i, training labels carry noise of variance ``noise``, and the estimator is
    :func:`kernel_regression` trained on n samples from μ (on a finite population such as the
    hypercube, distinct points match best) with the same ``ridge`` δ on the Gram matrix, K + δ·I. Then (Simon et al. 2021, eigenlearning; Bordelon et al. 2020)

        κ solves  Σ_i λ_i/(λ_i + κ) + δ/κ = n,   L_i = λ_i/(λ_i + κ),   E0 = n/(n − Σ_i L_i²),
        test_mse = E0·(Σ_i (1 − L_i)² v_i² + noise),   train_mse = (δ/(nκ))²·test_mse.

    ``test_mse`` is the error on a fresh *noisy* label, E(f̂(x) − y)²; the error against the
    clean target is ``test_mse - noise``. ``train_mse`` is the mean squared residual on the
    training labels.

    Args:
        eigenvalues: λ, shape ``[M]``, all ≥ 0 (NumPy array, tensor or sequence).
        coefficients: v, shape ``[M]``, or ``[M, k]`` for a k-output target (squares are
            summed over outputs, and so is ``noise``).
        n: number of training samples, an int or a sequence of ints (a learning curve).
        ridge: δ ≥ 0.
        noise: label-noise variance ≥ 0.

    Returns:
        A dict with ``kappa``, ``e0``, ``test_mse``, ``train_mse`` (floats for an int ``n``,
        NumPy arrays ``[len(n)]`` for a sequence) and ``learnabilities`` (NumPy ``[M]``, or
        ``[len(n), M]``), all float64.

    Raises:
        TypeError: for non-numeric arguments.
        ValueError: for bad shapes, negative eigenvalues, ``n < 1``, or ``ridge = 0`` with
            ``n`` ≥ the number of nonzero eigenvalues (ridgeless interpolation with more samples
            than modes has no solution κ > 0).
    """
    lam = _as_float64("eigenvalues", eigenvalues, (1,))
    v = _as_float64("coefficients", coefficients, (1, 2))
    if v.shape[0] != lam.shape[0]:
        raise ValueError(f"coefficients must have {lam.shape[0]} rows, one per eigenvalue, "
                         f"got shape {v.shape}")
    if (lam < 0).any():
        raise ValueError(f"eigenvalues must be >= 0, got min {lam.min():.3g}")
    ridge = check_real("ridge", ridge, nonnegative=True)
    noise = check_real("noise", noise, nonnegative=True)
    single = not isinstance(n, (Sequence, np.ndarray, torch.Tensor))
    ns = [check_int("n", m, minimum=1) for m in ([n] if single else list(np.asarray(n).ravel()))]
    v2 = (v**2).reshape(lam.shape[0], -1).sum(1)
    n_modes = int((lam > 0).sum())
    out = {"kappa": [], "e0": [], "test_mse": [], "train_mse": [], "learnabilities": []}
    for m in ns:
        if ridge == 0 and m >= n_modes:
            raise ValueError(f"n = {m} must be smaller than the number of nonzero eigenvalues "
                             f"({n_modes}) when ridge = 0; use ridge > 0")
        kappa = _solve_kappa(lam, m, ridge)
        L = lam / (lam + kappa)
        e0 = m / (m - np.sum(L**2))
        test = e0 * (np.sum((1 - L) ** 2 * v2) + noise)
        for key, val in (("kappa", kappa), ("e0", e0), ("test_mse", test),
                         ("train_mse", (ridge / (m * kappa)) ** 2 * test), ("learnabilities", L)):
            out[key].append(val)
    return {k: (float(val[0]) if k != "learnabilities" else val[0]) if single else np.array(val)
            for k, val in out.items()}


def _as_float64(name: str, value, ndims: tuple[int, ...]) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a numeric array or tensor, got {type(value).__name__}") from None
    if arr.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimension(s), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    return arr


def _solve_kappa(lam: np.ndarray, n: int, ridge: float) -> float:
    # g(κ) = Σ λ/(λ+κ) + δ/κ − n decreases from (#nonzero λ − n, or +∞ if δ > 0) at κ → 0 to −n.
    def g(log_kappa):
        kappa = math.exp(log_kappa)
        return float(np.sum(lam / (lam + kappa)) + ridge / kappa - n)

    hi = 2 * (lam.sum() + ridge) / n  # there Σ λ/(λ+κ) + δ/κ ≤ (Σλ + δ)/κ = n/2
    lo = ridge / (2 * n) if ridge > 0 else math.inf  # there δ/κ = 2n alone
    pos = lam[lam > 0]
    if pos.size > n:  # there each nonzero mode has λ/(λ+κ) > n/(n + (M+ − n)/2)
        lo = min(lo, 0.5 * pos.min() * (pos.size - n) / n)
    return math.exp(brentq(g, math.log(lo), math.log(hi), xtol=1e-14, maxiter=500))
