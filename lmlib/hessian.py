"""Curvature of a loss: Hessian-vector products, top eigenvalues, sharpness.

The Hessian of a network's loss is far too big to build (P² entries for P
parameters), but a Hessian-vector product (HVP) costs about two gradients, and a
few dozen HVPs are enough for Lanczos to find the top eigenvalues. Two facts
decide the speed, both measured on a 2-core CPU (see REFERENCE_SETUPS):

* *How the HVP is formed.* Build the gradient once with ``create_graph=True``
  and differentiate it again against each new vector (``autograd.grad(g, params,
  v, retain_graph=True)``): the forward pass and first backward are paid once.
  ``torch.func.jvp(grad(loss))`` is pure and composable but redoes both on every
  call, ~10× slower on a small CNN. :class:`HessianOperator` is the first route;
  :func:`hvp` offers both (``method=``) so the benchmark can compare them.
* *The eigensolver.* Lanczos with full reorthogonalisation converges to 1e-6 in
  ~10-25 HVPs where power iteration needs many more (it converges at the rate
  λ₂/λ₁, Lanczos at roughly its square root).

Parameters are a dict of tensors (as ``dict(model.named_parameters())`` for
``torch.func.functional_call``) or a tuple/list of tensors; vectors ``v`` have
the same structure. The flat interface (:meth:`HessianOperator.matvec`) orders
entries by the dict's insertion order (or the sequence's order), each tensor
flattened row-major.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Mapping, Sequence, Union

import torch
from torch import Tensor, nn

from lmlib._checks import check_choice, check_int, check_real, check_tensor

__all__ = ["Params", "HessianOperator", "hessian_operator", "hvp", "top_eigenvalues", "sharpness"]

Params = Union[Mapping[str, Tensor], Sequence[Tensor]]
LOSSES = ("mse", "cross_entropy")


def _leaves(name: str, params: object) -> tuple[list[str] | None, list[Tensor]]:
    """Split a dict / tuple / list of tensors into (keys or None, list of tensors)."""
    if isinstance(params, Mapping):
        keys: list[str] | None = list(params.keys())
        values = list(params.values())
    elif isinstance(params, (tuple, list)):
        keys, values = None, list(params)
    else:
        raise TypeError(f"{name} must be a dict, tuple or list of tensors, got {type(params).__name__}")
    if not values:
        raise ValueError(f"{name} must hold at least one tensor")
    for i, value in enumerate(values):
        label = f"{name}[{keys[i]!r}]" if keys is not None else f"{name}[{i}]"
        check_tensor(label, value, floating=True)
    return keys, values


def _rebuild(keys: list[str] | None, values: list[Tensor], like: object) -> Any:
    """Put a list of tensors back into the structure of ``like``."""
    if keys is not None:
        return dict(zip(keys, values))
    return type(like)(values) if isinstance(like, tuple) else list(values)


class HessianOperator:
    """The Hessian of ``loss_fn`` at ``params`` as a reusable linear operator.

    The loss and its gradient are computed once, keeping the autograd graph
    (``create_graph=True``); each product then costs one backward pass through
    that graph. This is the fast route for the many HVPs of an eigensolver. The
    operator holds the graph in memory until it is deleted, and is tied to the
    parameter values it saw: after changing them in place (a training step),
    build a new one.

    Args:
        loss_fn: function of the parameters returning a scalar tensor; it must
            use the tensors it is given (not a model's own parameters), e.g.
            ``lambda p: F.mse_loss(functional_call(model, p, x), y)``.
        params: dict, tuple or list of floating tensors at which to take the
            Hessian. They are detached first, so the caller's tensors (and any
            ``.grad``) are left untouched.

    Attributes:
        dim: total number of parameters P (the Hessian is P × P).
        n_hvp: number of Hessian-vector products computed so far.
        loss: the value of the loss at ``params`` (a float).
        dtype, device: those of the first parameter tensor; :meth:`matvec` works in them.

    Raises:
        TypeError: if ``params`` is not a dict/tuple/list of floating tensors, or
            ``loss_fn`` is not callable or returns a non-tensor.
        ValueError: if ``params`` is empty or ``loss_fn`` does not return a scalar.
    """

    def __init__(self, loss_fn: Callable[[Any], Tensor], params: Params) -> None:
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        self._keys, values = _leaves("params", params)
        self._like = params
        # Fresh leaves sharing storage with the caller's tensors: the graph built
        # below belongs to the operator, not to the caller's model.
        self._params = [p.detach().requires_grad_(True) for p in values]
        self.shapes = [p.shape for p in self._params]
        self.sizes = [p.numel() for p in self._params]
        self.dim = sum(self.sizes)
        self.dtype = self._params[0].dtype
        self.device = self._params[0].device
        self.n_hvp = 0

        with torch.enable_grad():
            loss = loss_fn(_rebuild(self._keys, self._params, params))
            if not isinstance(loss, Tensor):
                raise TypeError(f"loss_fn must return a tensor, got {type(loss).__name__}")
            if loss.numel() != 1:
                raise ValueError(f"loss_fn must return a scalar, got shape {tuple(loss.shape)}")
            self.loss = float(loss.detach())
            if not loss.requires_grad:
                grads: Sequence[Tensor | None] = [None] * len(self._params)
            else:
                grads = torch.autograd.grad(loss, self._params, create_graph=True, allow_unused=True)
        # A gradient that is None or does not itself depend on the parameters
        # means a zero block of rows (and, by symmetry, columns) of the Hessian.
        self._active = [i for i, g in enumerate(grads) if g is not None and g.requires_grad]
        self._grads = [grads[i] for i in self._active]

    def apply(self, v: Params) -> Any:
        """Return H·v with ``v`` in the structure of ``params`` (dict, tuple or list).

        Raises:
            TypeError: if ``v``'s structure or entries do not match ``params``.
            ValueError: if an entry of ``v`` has the wrong shape or ``v`` has other keys.
        """
        keys, vs = _leaves("v", v)
        if keys != self._keys or len(vs) != len(self._params):
            raise ValueError("v must have the same structure (keys / length) as params")
        for i, (vi, p) in enumerate(zip(vs, self._params)):
            if vi.shape != p.shape:
                label = f"v[{keys[i]!r}]" if keys is not None else f"v[{i}]"
                raise ValueError(f"{label} must have shape {tuple(p.shape)}, got {tuple(vi.shape)}")
        return _rebuild(self._keys, self._hv(vs), self._like)

    def matvec(self, v: Tensor) -> Tensor:
        """Return H·v for a flat vector ``v`` of length ``dim`` (see the module note on ordering).

        The product is computed in the parameters' dtype; the result has ``v``'s dtype.

        Raises:
            ValueError: if ``v`` is not a vector of length ``dim``.
        """
        v = check_tensor("v", v, ndim=1, floating=True)
        if v.numel() != self.dim:
            raise ValueError(f"v must have length dim={self.dim}, got {v.numel()}")
        pieces = torch.split(v.to(device=self.device), self.sizes)
        vs = [piece.reshape(shape).to(p.dtype) for piece, shape, p in zip(pieces, self.shapes, self._params)]
        return torch.cat([h.reshape(-1) for h in self._hv(vs)]).to(v.dtype)

    def unflatten(self, v: Tensor) -> Any:
        """Turn a flat vector of length ``dim`` (e.g. an eigenvector) into the structure of ``params``."""
        v = check_tensor("v", v, ndim=1)
        if v.numel() != self.dim:
            raise ValueError(f"v must have length dim={self.dim}, got {v.numel()}")
        pieces = [piece.reshape(shape) for piece, shape in zip(torch.split(v, self.sizes), self.shapes)]
        return _rebuild(self._keys, pieces, self._like)

    def _hv(self, vs: list[Tensor]) -> list[Tensor]:
        self.n_hvp += 1
        if not self._active:
            return [torch.zeros_like(p) for p in self._params]
        # d/dθ (g · v) = H v; retain_graph keeps g's graph for the next product.
        hv = torch.autograd.grad(
            self._grads,
            self._params,
            grad_outputs=[vs[i].to(self._params[i]) for i in self._active],
            retain_graph=True,
            allow_unused=True,
        )
        return [h.detach() if h is not None else torch.zeros_like(p) for h, p in zip(hv, self._params)]


def hessian_operator(loss_fn: Callable[[Any], Tensor], params: Params) -> HessianOperator:
    """Build a :class:`HessianOperator` (a function-style alias)."""
    return HessianOperator(loss_fn, params)


def hvp(loss_fn: Callable[[Any], Tensor], params: Params, v: Params, *, method: str = "autograd") -> Any:
    """Hessian-vector product H·v of the scalar ``loss_fn(params)``.

    For many products at the same point, build a :class:`HessianOperator` once
    instead: it reuses the gradient's graph and is much faster per product.

    Args:
        loss_fn: function of the parameters returning a scalar tensor.
        params: dict, tuple or list of floating tensors (left untouched).
        v: the vector, in the same structure and shapes as ``params``.
        method: ``"autograd"`` (double backward through a gradient built with
            ``create_graph=True``) or ``"func"`` (``torch.func.jvp`` of
            ``torch.func.grad``, forward-over-reverse; pure, and composable with
            ``vmap``). Both give the same result up to round-off. In torch ≤ 2.13
            ``F.mse_loss`` breaks under jvp(grad) (pytorch/pytorch#123996); a
            ``RuntimeError`` then says how to rewrite the loss.

    Returns:
        H·v in the structure of ``params`` (dict, tuple or list of tensors).

    Raises:
        TypeError: if ``params`` or ``v`` are not dicts/tuples/lists of floating tensors.
        ValueError: if ``v`` does not match ``params``, ``loss_fn`` is not scalar,
            or ``method`` is unknown.
        RuntimeError: from ``method="func"`` with ``F.mse_loss`` (see above).
    """
    check_choice("method", method, ("autograd", "func"))
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    if method == "autograd":
        return HessianOperator(loss_fn, params).apply(v)
    keys, values = _leaves("params", params)
    vkeys, vs = _leaves("v", v)
    if vkeys != keys or len(vs) != len(values) or any(a.shape != b.shape for a, b in zip(vs, values)):
        raise ValueError("v must have the same structure (keys / length / shapes) as params")
    primal = _rebuild(keys, [p.detach() for p in values], params)
    tangent = _rebuild(keys, [t.to(p) for t, p in zip(vs, values)], params)
    try:
        _, out = torch.func.jvp(torch.func.grad(loss_fn), (primal,), (tangent,))
    except RuntimeError as err:
        if "ZeroTensors are immutable" not in str(err):
            raise
        raise RuntimeError(
            "hvp(method='func') hit a PyTorch bug (pytorch/pytorch#123996): F.mse_loss with "
            "reduction='mean' fails under jvp(grad). Write the loss as ((out - y) ** 2).mean(), "
            "or use method='autograd'."
        ) from err
    return out


def top_eigenvalues(
    loss_fn: Callable[[Any], Tensor],
    params: Params,
    k: int = 1,
    *,
    max_iter: int = 100,
    tol: float = 1e-6,
    seed: int = 0,
    return_info: bool = False,
) -> Tensor | tuple[Tensor, dict[str, Any]]:
    """The k largest (algebraic) Hessian eigenvalues, by Lanczos on HVPs.

    Lanczos (Lanczos 1950; Golub & Van Loan, *Matrix Computations*, §10.1) builds
    an orthonormal Krylov basis q₁, H q₁, H² q₁, … one HVP at a time; the
    eigenvalues of the small tridiagonal matrix T it produces (Ritz values)
    converge to the extreme eigenvalues of H first. The basis is kept and every
    new vector is re-orthogonalised against it twice (full reorthogonalisation),
    so no spurious copies of converged eigenvalues appear; the basis and T are
    kept in float64 whatever the parameters' dtype. The start vector is a
    Gaussian drawn from a CPU generator seeded with ``seed``, so results do not
    depend on the device or on global RNG state.

    Stopping (residual-based, as ARPACK / ``scipy.sparse.linalg.eigsh``): for a
    Ritz pair (θᵢ, yᵢ) the residual rᵢ = ‖H yᵢ − θᵢ yᵢ‖ equals β·|last entry of
    sᵢ| at no extra cost, and some eigenvalue of H lies within rᵢ of θᵢ. We stop
    when rᵢ ≤ tol·max(|θᵢ|, 10⁻³·max|θ|) for all of the top k, or when the
    Krylov space becomes invariant (exact), or after ``max_iter`` HVPs (with a
    ``RuntimeWarning``). The actual eigenvalue error is usually far smaller,
    about rᵢ²/gap. A change-based test (stop when θ stops moving) is cheaper but unsafe: on a small MLP
    the top Ritz value stalled for several steps 12 % below λ₁. No test can rule
    out a start vector nearly orthogonal to the top eigenvector; the random
    start makes that improbable.

    Memory: the basis holds ``min(max_iter, P)`` float64 vectors of length P.

    Args:
        loss_fn: function of the parameters returning a scalar tensor.
        params: dict, tuple or list of floating tensors (left untouched).
        k: how many eigenvalues, 1 ≤ k ≤ number of parameters.
        max_iter: maximum number of HVPs (capped at the number of parameters).
        tol: relative residual tolerance (see Stopping); it bounds the relative
            eigenvalue error. Float32 HVPs reach about 1e-6.
        seed: seed of the random start vector.
        return_info: also return a dict with ``n_hvp`` (HVPs used), ``converged``
            (bool), ``residuals`` (Tensor[k], the rᵢ above), ``loss``
            (float) and ``eigenvectors`` (Tensor[k, P], unit-norm rows in the
            flat order of :class:`HessianOperator`; turn one back into the params
            structure with ``HessianOperator.unflatten``).

    Returns:
        Tensor[k] of eigenvalues in descending order, in the parameters' dtype and
        on their device; with ``return_info``, the pair ``(eigenvalues, info)``.

    Raises:
        TypeError: for a wrong ``params``, ``loss_fn``, ``k``, ``max_iter``, ``seed`` or ``tol`` type.
        ValueError: if ``k`` exceeds the number of parameters or ``max_iter`` < ``k``,
            ``tol`` ≤ 0, or ``loss_fn`` does not return a scalar.
    """
    k = check_int("k", k, minimum=1)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    tol = check_real("tol", tol, positive=True)
    seed = check_int("seed", seed, minimum=0)
    op = HessianOperator(loss_fn, params)
    n = op.dim
    if k > n:
        raise ValueError(f"k must be <= the number of parameters ({n}), got {k}")
    if max_iter < k:
        raise ValueError(f"max_iter must be >= k ({k}), got {max_iter}")
    m_max = min(max_iter, n)

    # The Krylov basis, one row per HVP, preallocated: memory m_max × P float64.
    basis = torch.empty(m_max, n, dtype=torch.float64, device=op.device)
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(n, generator=gen, dtype=torch.float64).to(op.device)
    basis[0] = q / q.norm()
    alphas: list[float] = []
    betas: list[float] = []
    converged = False
    while True:
        j = len(alphas)  # index of the newest basis vector
        w = op.matvec(basis[j].to(op.dtype)).to(torch.float64)
        alphas.append(float(basis[j] @ w))
        # Full reorthogonalisation, twice ("twice is enough", Parlett): this
        # subsumes the three-term recurrence and removes round-off drift.
        Q = basis[: j + 1]
        for _ in range(2):
            w = w - Q.T @ (Q @ w)
        beta = float(w.norm())
        j += 1  # size of T
        T = torch.diag(torch.tensor(alphas, dtype=torch.float64))
        if j > 1:
            off = torch.tensor(betas, dtype=torch.float64)
            T = T + torch.diag(off, 1) + torch.diag(off, -1)
        theta, S = torch.linalg.eigh(T)
        theta, S = theta.flip(0), S.flip(1)  # descending
        kk = min(k, j)
        errors = beta * S[-1, :kk].abs()  # ‖H yᵢ − θᵢ yᵢ‖ for the Ritz vectors yᵢ = Q sᵢ
        # Relative to |θᵢ|, floored at 1e-3·max|θ| ≈ 1e-3·‖H‖: for an eigenvalue
        # near zero a purely relative test could never pass.
        scale = torch.maximum(theta[:kk].abs(), theta.abs().max() * 1e-3)
        invariant = beta <= 1e-12 * max(theta.abs().max().item(), 1e-300)
        if j >= k and (bool((errors <= tol * scale).all()) or invariant):
            converged = True
            break
        if j >= m_max:
            break
        if invariant:
            # The Krylov space of q₁ is exhausted before k eigenvalues were
            # found (a degenerate start): go on from a fresh random direction;
            # T becomes block diagonal (β = 0).
            w = torch.randn(n, generator=gen, dtype=torch.float64).to(op.device)
            for _ in range(2):
                w = w - Q.T @ (Q @ w)
            beta = 0.0
        betas.append(beta)
        basis[j] = w / w.norm()

    if not converged:
        warnings.warn(
            f"top_eigenvalues: Lanczos did not reach tol={tol:g} in {op.n_hvp} HVPs "
            f"(largest relative residual {float((errors / scale).max()):.2e}); "
            "raise max_iter or loosen tol",
            RuntimeWarning,
            stacklevel=2,
        )
    values = theta[:k].to(dtype=op.dtype, device=op.device)
    if not return_info:
        return values
    vectors = (S[:, :k].T.to(op.device) @ basis[:j]).to(op.dtype)
    info = {
        "n_hvp": op.n_hvp,
        "converged": converged,
        "residuals": errors[:k].to(op.dtype),
        "loss": op.loss,
        "eigenvectors": vectors,
    }
    return values, info


def sharpness(
    model: nn.Module,
    loss: str | Callable[[Tensor, Tensor], Tensor],
    x: Tensor,
    y: Tensor,
    *,
    params: Mapping[str, Tensor] | None = None,
    tol: float = 1e-6,
    max_iter: int = 100,
    seed: int = 0,
) -> float:
    """Sharpness: the top eigenvalue of the Hessian of the training loss.

    The quantity that edge-of-stability dynamics pin near 2/lr for full-batch GD
    (Cohen et al. 2021). The Hessian is that of exactly the loss named, so use
    the normalisation you train with. The names mean exactly what they mean in
    :func:`lmlib.train.train`: ``"mse"`` is ½·mean over examples of ‖f(x) − y‖²
    (summed over outputs), ``"cross_entropy"`` is ``F.cross_entropy`` (mean over
    examples); a callable ``loss(output, y)`` gives any other convention.

    The model is called through ``torch.func.functional_call`` on detached copies
    of its parameters and buffers, so its parameters, gradients and running
    statistics are untouched. Dropout, if in training mode, is sampled once.

    Args:
        model: the network.
        loss: ``"mse"``, ``"cross_entropy"`` or a callable ``loss(output, y)`` returning a scalar.
        x: inputs, batched as the model expects.
        y: targets (same shape as the output for ``"mse"``).
        params: the parameters to differentiate, by name (a subset of
            ``model.named_parameters()``; the others stay fixed at the model's
            values). Default: all parameters with ``requires_grad``.
        tol, max_iter, seed: passed to :func:`top_eigenvalues`.

    Returns:
        The top Hessian eigenvalue (largest algebraic) as a float.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``, ``loss`` is neither a
            known name nor callable, or ``x``/``y`` are not tensors.
        ValueError: for an unknown loss name, ``params`` naming no parameter of
            the model, or output/target shapes that disagree for ``"mse"``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(loss, str):
        check_choice("loss", loss, LOSSES)
    elif not callable(loss):
        raise TypeError(f"loss must be one of {list(LOSSES)} or a callable, got {type(loss).__name__}")
    x = check_tensor("x", x)
    y = check_tensor("y", y)
    if params is None:
        params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    elif not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of name -> tensor, got {type(params).__name__}")
    known = dict(model.named_parameters())
    unknown = [name for name in params if name not in known]
    if unknown:
        raise ValueError(f"params names no parameter of model: {unknown}")
    if not params:
        raise ValueError("params is empty: the model has no trainable parameters")
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}

    from lmlib.train import loss_function  # one definition of each named loss in lmlib

    criterion = loss_function(loss)

    def loss_fn(p: Mapping[str, Tensor]) -> Tensor:
        out = torch.func.functional_call(model, {**buffers, **p}, (x,))
        return criterion(out, y)

    top = top_eigenvalues(loss_fn, {n: p.detach() for n, p in params.items()}, 1,
                          tol=tol, max_iter=max_iter, seed=seed)
    return float(top[0])
