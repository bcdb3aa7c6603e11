"""The linearised network in closed form, and eigenlearning for targets on the hypercube.

A network trained in the lazy regime is its own first-order Taylor expansion around the
initialisation, f(x; θ) ≈ f(x; θ₀) + ∇f(x; θ₀)·(θ − θ₀) (Jacot et al. 2018; Lee et al. 2019).
That model is linear in θ, so full-batch gradient descent on ½·mean squared error can be solved
exactly: the training residual r = f(X) − y obeys r ← (I − η K/n) r, where K is the NTK Gram
matrix of the n training points, and a test point follows along through K(x, X).
:func:`gd_kernel_predictions` evaluates that solution after any number of steps; after infinitely
many it is ridgeless kernel regression, :func:`lmlib.ntk.kernel_regression`.

:func:`hypercube_eigensystem` lays out the eigenvalues of a dot-product kernel on {±1}^d and the
Walsh coefficients of a target, one entry per monomial, in the form :func:`lmlib.ntk.eigenlearning`
takes.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from lmlib._checks import check_int, check_real, check_tensor
from lmlib.theory.kernels import hypercube_eigenvalues, walsh_subsets

__all__ = ["gd_kernel_predictions", "hypercube_eigensystem"]


def gd_kernel_predictions(
    K_train: torch.Tensor,
    y_train: torch.Tensor,
    K_test_train: torch.Tensor,
    lr: float,
    steps: int | None,
) -> torch.Tensor:
    """Predictions of the linearised model after ``steps`` full-batch GD steps from f = 0.

    With the loss ½·mean_μ (f(x_μ) − y_μ)² and the kernel K fixed, one step of gradient descent
    maps the training residual r to (I − η K/n) r. Starting from the zero function,

        f_t(x) = K(x, X) K⁻¹ [I − (I − η K/n)^t] y,

    evaluated in the eigenbasis of K (so no inverse of an ill-conditioned K is formed: the factor
    [1 − (1 − ηλ/n)^t]/λ stays finite as λ → 0). ``steps=None`` is t = ∞, ridgeless kernel
    regression (the minimum-norm interpolant).

    Args:
        K_train: NTK Gram matrix ``[n, n]`` of the training points, symmetric.
        y_train: targets ``[n]``.
        K_test_train: kernel ``[m, n]`` between test and training points.
        lr: learning rate η > 0 (stable when η·λ_max(K)/n < 2).
        steps: number of steps t ≥ 0, or ``None`` for t = ∞.

    Returns:
        Predictions ``[m]`` in float64, on the device of ``K_train``.

    Raises:
        TypeError, ValueError: for bad shapes, a non-positive ``lr`` or negative ``steps``.
    """
    K = check_tensor("K_train", K_train, ndim=2, floating=True).double()
    y = check_tensor("y_train", y_train, ndim=1).double()
    Kx = check_tensor("K_test_train", K_test_train, ndim=2, floating=True).double()
    lr = check_real("lr", lr, positive=True)
    n = K.shape[0]
    if K.shape[1] != n or y.shape[0] != n or Kx.shape[1] != n:
        raise ValueError(f"need K_train [n, n], y_train [n], K_test_train [m, n]; got "
                         f"{tuple(K.shape)}, {tuple(y.shape)}, {tuple(Kx.shape)}")
    lam, V = torch.linalg.eigh((K + K.T) / 2)
    lam = lam.clamp_min(0.0)  # roundoff can make the smallest eigenvalues slightly negative
    if steps is None:
        tiny = lam.max() * n * torch.finfo(lam.dtype).eps
        filt = torch.where(lam > tiny, 1.0 / lam.clamp_min(tiny), torch.zeros_like(lam))
    else:
        steps = check_int("steps", steps, minimum=0)
        # [1 − (1 − ηλ/n)^t]/λ, with its λ → 0 limit η·t/n
        decay = 1.0 - (1.0 - lr * lam / n) ** steps
        filt = torch.where(lam > 0, decay / lam.clamp_min(torch.finfo(lam.dtype).tiny),
                           torch.full_like(lam, lr * steps / n))
    return Kx @ (V @ (filt * (V.T @ y)))


def hypercube_eigensystem(
    kernel_of_dot: Callable,
    d: int,
    target: Mapping[Sequence[int], float],
) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and target coefficients on {±1}^d, one entry per Walsh monomial.

    A dot-product kernel g(x·x'/d) on the uniform hypercube has eigenvalue λ_k on each of the
    C(d, k) monomials χ_S of degree k = |S| (:func:`lmlib.theory.kernels.hypercube_eigenvalues`).
    A target f = Σ_S c_S χ_S has coefficient c_S on eigenfunction χ_S.

    Args:
        kernel_of_dot: g, as for :func:`~lmlib.theory.kernels.hypercube_eigenvalues`.
        d: dimension.
        target: the nonzero Walsh coefficients, subset → c_S, e.g. ``{(0, 1): 1.0}`` for x₁x₂.

    Returns:
        ``(eigenvalues, coefficients)``, float64 arrays ``[2^d]`` in the order of
        :func:`~lmlib.theory.kernels.walsh_subsets`, ready for :func:`lmlib.ntk.eigenlearning`.

    Raises:
        TypeError, ValueError: for a bad ``d``, or a subset that is not a set of indices in [0, d).
    """
    d = check_int("d", d, minimum=1)
    if not isinstance(target, Mapping):
        raise TypeError(f"target must be a mapping subset -> coefficient, got {type(target).__name__}")
    subsets = walsh_subsets(d)
    position = {s: i for i, s in enumerate(subsets)}
    coef = np.zeros(len(subsets))
    for s, c in target.items():
        key = tuple(sorted(int(i) for i in s))
        if key not in position or len(set(key)) != len(key):
            raise ValueError(f"target subsets must hold distinct indices in [0, {d}), got {tuple(s)}")
        coef[position[key]] += float(c)
    lam_k = hypercube_eigenvalues(kernel_of_dot, d).numpy()
    lam = np.array([lam_k[len(s)] for s in subsets])
    return lam, coef
