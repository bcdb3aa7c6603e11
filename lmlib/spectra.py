"""Spectra of real data and the learning curves they predict (Bordelon et al. 2020; Simon et al. 2021).

A finite data set of N points is treated as the *population*: the uniform measure on its points.
Then a kernel's integral operator is the matrix K/N, its eigenfunctions are φ_i = √N·u_i (u_i the
unit eigenvectors), and a target Y (one row per point) has coefficients v_i = u_iᵀY/√N. These are
exactly the inputs of :func:`lmlib.ntk.eigenlearning`, which then predicts the error of kernel
regression on n points drawn from the population, measured on the whole population.

* :func:`kernel_eigensystem` -- (λ, v) of a Gram matrix and a target, in that convention.
* :func:`power_law_fit` -- the exponent of a spectrum over a stated index range, with its R².
* :func:`tail_power` -- T(k) = Σ_{i ≥ k} |v_i|², whose decay k^(1−β) sets the learning curve.
* :func:`population_learning_curve` -- measured kernel regression: train on n points drawn
  without replacement, report the mean squared error over all N points.
* :func:`haar_rotate` -- the same eigenvalues and target coefficients, with eigenvectors rotated
  by a random orthogonal matrix: a control in which nothing but the spectrum is left.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from lmlib._checks import check_int, check_real, check_tensor

__all__ = ["Eigensystem", "kernel_eigensystem", "PowerLawFit", "power_law_fit", "tail_power",
           "population_learning_curve", "haar_rotate"]


def _gram(name: str, K) -> torch.Tensor:
    K = check_tensor(name, K, ndim=2, floating=True).to(torch.float64)
    if K.shape[0] != K.shape[1]:
        raise ValueError(f"{name} must be square, got shape {tuple(K.shape)}")
    if float((K - K.T).abs().max()) > 1e-8 * max(float(K.abs().max()), 1e-300):
        raise ValueError(f"{name} must be symmetric")
    return (K + K.T) / 2


def _targets(Y, n: int) -> torch.Tensor:
    Y = check_tensor("Y", Y, ndim=(1, 2)).to(torch.float64)
    if Y.shape[0] != n:
        raise ValueError(f"Y must have one row per point ({n}), got shape {tuple(Y.shape)}")
    return Y[:, None] if Y.ndim == 1 else Y


@dataclass
class Eigensystem:
    """Eigenvalues of K/N (descending, ``[N]``), unit eigenvectors (columns, ``[N, N]``) and the
    target's coefficients v_i = u_iᵀY/√N (``[N, k]``)."""

    eigenvalues: torch.Tensor
    eigenvectors: torch.Tensor
    coefficients: torch.Tensor


def kernel_eigensystem(K, Y) -> Eigensystem:
    """The eigensystem of a Gram matrix on a finite population, in eigenlearning's convention.

    Args:
        K: Gram matrix ``[N, N]`` of the population, symmetric.
        Y: target values ``[N]`` or ``[N, k]``.

    Returns:
        An :class:`Eigensystem`. Round-off negative eigenvalues are clamped to 0.

    Raises:
        TypeError, ValueError: for non-float, non-square, non-symmetric K or a mismatched Y.
    """
    K = _gram("K", K)
    N = K.shape[0]
    Y = _targets(Y, N)
    lam, U = torch.linalg.eigh(K / N)
    lam, U = lam.flip(0).clamp_min(0.0), U.flip(1)
    return Eigensystem(lam, U, U.T @ Y.to(U.device) / N**0.5)


@dataclass
class PowerLawFit:
    """A fit values_k ≈ A·k^(−alpha) over k = kmin … kmax (1-based indices), with its log–log R²."""

    alpha: float
    prefactor: float
    r2: float
    kmin: int
    kmax: int

    def passes(self, *, min_alpha: float = 0.5, min_r2: float = 0.98) -> bool:
        """A power-law test that white noise fails: a real decay (α ≥ min_alpha) *and* a straight line.

        R² alone is not enough -- a nearly flat, slowly bending spectrum has a high R² too.
        """
        return bool(self.alpha >= min_alpha and self.r2 >= min_r2)


def power_law_fit(values, kmin: int, kmax: int) -> PowerLawFit:
    """Fit values_k ∝ k^(−α) over every index kmin ≤ k ≤ kmax (1-based), by least squares in log–log.

    The exponent of a real spectrum depends on the range: always report it with the fit.

    Args:
        values: a descending spectrum or tail sum, ``[K]`` (tensor or array), positive on the range.
        kmin, kmax: the fit range, 1 ≤ kmin < kmax ≤ K.

    Returns:
        A :class:`PowerLawFit`.
    """
    from lmlib.metrics import fit_power_law

    y = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values, dtype=np.float64)
    kmin, kmax = check_int("kmin", kmin, minimum=1), check_int("kmax", kmax, minimum=2)
    if y.ndim != 1 or kmax > y.size or kmin >= kmax:
        raise ValueError(f"need 1 <= kmin < kmax <= len(values) = {y.size}, got kmin={kmin}, kmax={kmax}")
    k = np.arange(kmin, kmax + 1)
    slope, pref, r2 = fit_power_law(k, y[k - 1], return_r2=True)
    return PowerLawFit(-slope, pref, r2, kmin, kmax)


def tail_power(coefficients) -> torch.Tensor:
    """T(k) = Σ_{i ≥ k} |v_i|² for k = 1 … N (summed over the target's outputs), ``[N]``."""
    v = check_tensor("coefficients", coefficients, ndim=(1, 2)).to(torch.float64)
    p = v.square() if v.ndim == 1 else v.square().sum(1)
    return p.flip(0).cumsum(0).flip(0)


def population_learning_curve(K, Y, n: Sequence[int], *, seeds: Sequence[int]) -> np.ndarray:
    """Measured ridgeless kernel regression on a finite population: error over all N points.

    For each seed and n, draw n distinct training points (the first n of one random permutation
    per seed, so curves are nested), fit the minimum-norm interpolant with
    :func:`lmlib.ntk.kernel_regression`, and return the mean over all N points of Σ_outputs (f̂ − y)²
    -- the population error eigenlearning predicts (training points included, where it is ≈ 0).

    Args:
        K: population Gram matrix ``[N, N]``; Y: targets ``[N]`` or ``[N, k]``.
        n: training-set sizes, each < N.
        seeds: one seed per repetition.

    Returns:
        Array ``[len(seeds), len(n)]``.
    """
    from lmlib.ntk import kernel_regression

    K = _gram("K", K)
    N = K.shape[0]
    Y = _targets(Y, N).to(K.device)
    ns = [check_int("n[i]", m, minimum=1) for m in np.atleast_1d(np.asarray(n)).tolist()]
    if max(ns) >= N:
        raise ValueError(f"n must be < N = {N}, got {max(ns)}")
    out = np.empty((len(seeds), len(ns)))
    for i, s in enumerate(seeds):
        perm = torch.randperm(N, generator=torch.Generator().manual_seed(check_int("seeds[i]", s, minimum=0)))
        perm = perm.to(K.device)
        for j, m in enumerate(ns):
            idx = perm[:m]
            pred = kernel_regression(K[idx][:, idx], Y[idx], K[:, idx])
            out[i, j] = float((pred - Y).square().sum(1).mean())
    return out


def haar_rotate(K, Y, *, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(O K Oᵀ, O Y) for a Haar-random orthogonal O: same λ_i and v_i, generic eigenvectors.

    Eigenlearning sees only (λ, v), so its prediction is unchanged; kernel regression on the
    rotated population tests whether the real eigenvectors' structure matters.

    Args:
        K: Gram matrix ``[N, N]``; Y: targets ``[N]`` or ``[N, k]``.
        seed: seed of O.
    """
    K = _gram("K", K)
    N = K.shape[0]
    Y = _targets(Y, N).to(K.device)
    gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    q, r = torch.linalg.qr(torch.randn(N, N, generator=gen, dtype=torch.float64))
    O = (q * torch.sign(torch.diagonal(r))).to(K.device)       # sign fix: exactly Haar
    KO = O @ K @ O.T
    return (KO + KO.T) / 2, O @ Y
