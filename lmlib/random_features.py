"""Linear and random-feature regression on power-law data, measured exactly: the solvable scaling model.

The inputs x ∈ R^M have covariance Λ = diag(λ) and the target is y = w*·x (no label noise). The
population loss of any linear predictor x ↦ u·x is then a quadratic form, L(u) = (u − w*)ᵀΛ(u − w*),
so every experiment here reports the *exact* test loss of the predictor it trained, with no test
set (normalised by L(0) = w*ᵀΛw*, the target's variance):

* :func:`ridgeless_risk` -- the minimum-norm interpolant of n random samples (the loss vs data).
* :func:`random_feature_risk` -- the best predictor on N random features z = F x, F Gaussian,
  with infinite data (the loss vs parameters).
* :func:`random_feature_flow` -- population gradient flow on those N features from zero, at every
  requested time at once through the eigendecomposition of the feature covariance (loss vs time and
  compute, the model of Paquette et al. 2024 and Bordelon et al. 2024 in its large-batch limit).
* :func:`online_sgd_linear` -- one-pass SGD on fresh Gaussian batches, several problems at once
  (the stochastic counterpart of the gradient-flow law).

Closed forms for all four live in :mod:`lmlib.theory.scaling`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from lmlib._checks import check_int, check_real

__all__ = ["ridgeless_risk", "random_feature_risk", "random_feature_flow", "online_sgd_linear"]


def _problem(lam, w_star) -> tuple[torch.Tensor, torch.Tensor]:
    lam = torch.as_tensor(lam, dtype=torch.float64)
    w_star = torch.as_tensor(w_star, dtype=torch.float64)
    if lam.ndim != 1 or lam.shape != w_star.shape:
        raise ValueError(f"lam and w_star must be 1-D of one length, got {tuple(lam.shape)} and "
                         f"{tuple(w_star.shape)}")
    if bool((lam < 0).any()):
        raise ValueError("lam must be >= 0 (variances)")
    return lam, w_star


def _sizes(name: str, values, maximum: int | None = None) -> list[int]:
    out = [check_int(f"{name}[i]", v, minimum=1) for v in np.atleast_1d(np.asarray(values)).tolist()]
    if not out:
        raise ValueError(f"{name} is empty")
    if maximum is not None and max(out) > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {max(out)}")
    return out


def ridgeless_risk(lam, w_star, n: Sequence[int], *, seeds: Sequence[int]) -> np.ndarray:
    """Normalised population loss of ridgeless (minimum-norm) regression on n samples.

    For each seed and n: draw X ``[n, M]`` with rows ~ N(0, Λ), labels y = X w*, fit
    û = Xᵀ(XXᵀ)⁻¹y, and return (û − w*)ᵀΛ(û − w*) / w*ᵀΛw*.

    Args:
        lam: variances λ ``[M]``; w_star: target weights ``[M]``.
        n: sample sizes, each < M (the interpolant must be underdetermined).
        seeds: one seed per repetition; the draws for different n are nested (the first n rows
            of one draw), so a learning curve is smooth in n.

    Returns:
        Array ``[len(seeds), len(n)]``.
    """
    lam, w_star = _problem(lam, w_star)
    M = lam.numel()
    ns = _sizes("n", n, maximum=M - 1)
    seeds = [check_int("seeds[i]", s, minimum=0) for s in seeds]
    total = float(lam @ w_star**2)
    out = np.empty((len(seeds), len(ns)))
    for i, s in enumerate(seeds):
        gen = torch.Generator().manual_seed(s)
        X_all = torch.randn(max(ns), M, generator=gen, dtype=torch.float64) * lam.sqrt()
        for j, m in enumerate(ns):
            X = X_all[:m]
            coef = torch.linalg.solve(X @ X.T, X @ w_star)        # (XXᵀ)⁻¹ y
            err = X.T @ coef - w_star
            out[i, j] = float(lam @ err**2) / total
    return out


def _features(N: int, M: int, seed: int) -> torch.Tensor:
    # Unit-variance entries: callers take the first N rows and scale them by 1/√N, so that
    # E[FᵀF] = I for every N and the time scale of training does not depend on the width.
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(N, M, generator=gen, dtype=torch.float64)


def random_feature_risk(lam, w_star, N: Sequence[int], *, seeds: Sequence[int]) -> np.ndarray:
    """Normalised population loss of the best predictor on N Gaussian random features z = F x.

    With A = FΛFᵀ and b = FΛw*, the optimum is θ* = A⁻¹b and its loss 1 − bᵀA⁻¹b / w*ᵀΛw*. For
    each seed the feature matrices are nested (the first N rows of one F).

    Args:
        lam, w_star: the problem, ``[M]`` each.
        N: numbers of features, each <= M.
        seeds: seeds of F, one per repetition.

    Returns:
        Array ``[len(seeds), len(N)]``.
    """
    lam, w_star = _problem(lam, w_star)
    M = lam.numel()
    Ns = _sizes("N", N, maximum=M)
    seeds = [check_int("seeds[i]", s, minimum=0) for s in seeds]
    total = float(lam @ w_star**2)
    out = np.empty((len(seeds), len(Ns)))
    for i, s in enumerate(seeds):
        F_all = _features(max(Ns), M, s)
        for j, m in enumerate(Ns):
            F = F_all[:m] / np.sqrt(m)
            FL = F * lam
            b = FL @ w_star
            explained = float(b @ torch.linalg.solve(FL @ F.T, b))
            out[i, j] = max(1.0 - explained / total, 0.0)
    return out


def random_feature_flow(lam, w_star, N: Sequence[int], times, *, seeds: Sequence[int]) -> np.ndarray:
    """Normalised population loss of gradient flow on N random features, at the given times.

    Gradient flow on L(θ) = ½·E(θ·Fx − y)² from θ = 0 has error θ(τ) − θ* = −e^(−Aτ) θ*, so with
    A = Q diag(μ) Qᵀ the loss is L* + Σ_i μ_i e^(−2μ_i τ) (Qᵀθ*)_i², for every τ at once. This is
    gradient descent (and small-step one-pass SGD) at time τ = η·steps; compute is ∝ N·τ.

    Args:
        lam, w_star: the problem, ``[M]`` each.
        N: numbers of features (for each seed, nested rows of one F), each <= M.
        times: the times τ ≥ 0 to report.
        seeds: seeds of F, one per repetition.

    Returns:
        Array ``[len(seeds), len(N), len(times)]``.
    """
    lam, w_star = _problem(lam, w_star)
    M = lam.numel()
    Ns = _sizes("N", N, maximum=M)
    taus = torch.as_tensor(np.asarray(times, dtype=np.float64).reshape(-1))
    if bool((taus < 0).any()) or not bool(torch.isfinite(taus).all()):
        raise ValueError("times must be finite and >= 0")
    seeds = [check_int("seeds[i]", s, minimum=0) for s in seeds]
    total = float(lam @ w_star**2)
    out = np.empty((len(seeds), len(Ns), taus.numel()))
    for i, s in enumerate(seeds):
        F_all = _features(max(Ns), M, s)
        for j, m in enumerate(Ns):
            F = F_all[:m] / np.sqrt(m)
            FL = F * lam
            mu, Q = torch.linalg.eigh(FL @ F.T)
            proj = Q.T @ (FL @ w_star)                                  # Qᵀb, and Qᵀθ* = Qᵀb / μ
            keep = mu > mu.max() * 1e-12                                # round-off null directions carry nothing
            power = torch.where(keep, proj**2 / mu.clamp_min(1e-300), 0.0)   # μ_i (Qᵀθ*)_i²
            best = 1.0 - float(power.sum()) / total
            out[i, j] = best + (torch.exp(-2 * mu[None, :] * taus[:, None]) * power).sum(1).numpy() / total
    return out


def online_sgd_linear(lam, w_star, *, lr: float, steps: int, batch_size: int, record_steps: Sequence[int],
                      seed: int, dtype: torch.dtype = torch.float64) -> np.ndarray:
    """One-pass SGD on y = w*·x with fresh Gaussian batches, for several problems at once.

    Each problem p has its own variances λ_p and weights w*_p (stack them as ``[P, M]``); every
    step draws a fresh batch x ~ N(0, Λ_p) of each and takes u ← u − η·∇½·mean(u·x − y)². The
    population loss (u − w*)ᵀΛ(u − w*) / w*ᵀΛw* is recorded at ``record_steps``.

    Args:
        lam, w_star: ``[P, M]`` (or ``[M]`` for one problem).
        lr: η. batch_size: examples per step. steps: number of updates.
        record_steps: steps (0 … steps) at which to record the loss.
        seed: seed of the data stream.
        dtype: precision of the batches and the update (float32 halves the cost; the
            recorded loss is always computed in float64).

    Returns:
        Array ``[len(record_steps), P]``.
    """
    lam = torch.as_tensor(lam, dtype=torch.float64)
    w_star = torch.as_tensor(w_star, dtype=torch.float64)
    if lam.ndim == 1:
        lam, w_star = lam[None], w_star[None]
    if lam.ndim != 2 or lam.shape != w_star.shape or bool((lam < 0).any()):
        raise ValueError(f"lam and w_star must be [P, M] of one shape with lam >= 0, got "
                         f"{tuple(lam.shape)} and {tuple(w_star.shape)}")
    lr = check_real("lr", lr, positive=True)
    steps = check_int("steps", steps, minimum=0)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    rec = sorted(set(_sizes("record_steps", np.asarray(record_steps) + 1, maximum=steps + 1)))
    rec = [r - 1 for r in rec]
    gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    P, M = lam.shape
    total = (lam * w_star**2).sum(1)
    u = torch.zeros(P, M, dtype=dtype)
    sd, w_d = lam.sqrt()[:, None, :].to(dtype), w_star.to(dtype)
    out, want = [], set(rec)
    for t in range(steps + 1):
        if t in want:
            out.append(((lam * (u.double() - w_star) ** 2).sum(1) / total).numpy().copy())
        if t == steps:
            break
        x = torch.randn(P, batch_size, M, generator=gen, dtype=dtype) * sd
        resid = torch.einsum("pbm,pm->pb", x, u - w_d)               # f(x) − y
        u -= lr / batch_size * torch.einsum("pb,pbm->pm", resid, x)
    return np.stack(out)
