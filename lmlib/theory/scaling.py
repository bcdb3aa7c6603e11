"""Scaling laws of linear and random-feature regression on data with a power-law spectrum.

Convention (used throughout the book). The input covariance has eigenvalues λ_k = k^(−α), α > 1,
and the target f*(x) = Σ_k w*_k x_k puts the power v_k² = λ_k (w*_k)² = k^(−β), β > 1, on mode k
(so the weights are w*_k = k^((α − β)/2)). A learner that has fitted the first K modes and nothing
else has loss Σ_{k>K} k^(−β) ≈ K^(1−β)/(β − 1): every law below is "how many modes are learned".

* **Data** (ridgeless regression on n samples, all modes available): an effective ridge κ ~ n^(−α)
  learns the modes with λ_k > κ, i.e. k < n, so L(n) ∝ n^(−(β−1)) -- unless β − 1 > 2α, where
  the fitted modes' own shrinkage error (κ/λ_k)² dominates and the exponent saturates at 2α
  (Bordelon et al. 2020; Spigler et al. 2020; Bahri et al. 2021).
* **Parameters** (N Gaussian random features z = Fx, infinite data): the same count with N in place
  of n (Maloney, Roberts & Sully 2022), L(N) ∝ N^(−(β−1)) -- but here the floor set by the
  unlearnable tail, which the random projection spreads over all N features, falls only as N^(−α),
  so the exponent is min(β − 1, α) (the "F₀" term of Paquette et al. 2024).
* **Time** (gradient flow, time τ = η·steps, infinite data and parameters): mode k's error decays
  as e^(−λ_k τ), so the modes with k < τ^(1/α) are learned: L(τ) ∝ τ^(−(β−1)/α).
* **Compute.** For β − 1 ≤ α, L(N, τ) ≈ A·N^(−(β−1)) + B·τ^(−(β−1)/α). At compute C ∝ N·τ the
  best split balances the two terms, τ ∝ N^α, so N* ∝ C^(1/(1+α)) and the frontier falls as
  L* ∝ C^(−(β−1)/(1+α)). In the parameterisation of Paquette et al. (2024), x_k of standard
  deviation k^(−a) and weights k^(−b) (α = 2a, β = 2a + 2b), this is their (2a + 2b − 1)/(2a + 1).
"""
from __future__ import annotations

import numpy as np
import torch

from lmlib._checks import check_int, check_real

__all__ = ["spectrum", "target_weights", "tail_power", "data_exponent", "param_exponent", "time_exponent",
           "compute_exponent", "n_star_exponent", "additive_frontier", "compute_exponent_paquette", "gradient_flow_loss"]


def _exponents(alpha: float, beta: float) -> tuple[float, float]:
    alpha = check_real("alpha", alpha)
    beta = check_real("beta", beta)
    if alpha <= 1:
        raise ValueError(f"alpha must be > 1 (a trace-class covariance), got {alpha}")
    if beta <= 1:
        raise ValueError(f"beta must be > 1 (a target of finite variance), got {beta}")
    return alpha, beta


def spectrum(M: int, alpha: float) -> torch.Tensor:
    """The eigenvalues λ_k = k^(−α), k = 1 … M, as float64."""
    M = check_int("M", M, minimum=1)
    alpha = check_real("alpha", alpha, nonnegative=True)
    return torch.arange(1, M + 1, dtype=torch.float64) ** (-alpha)


def target_weights(M: int, alpha: float, beta: float) -> torch.Tensor:
    """Target weights w*_k = k^((α − β)/2), so the target power on mode k is λ_k (w*_k)² = k^(−β)."""
    M = check_int("M", M, minimum=1)
    alpha, beta = check_real("alpha", alpha), check_real("beta", beta)
    return torch.arange(1, M + 1, dtype=torch.float64) ** ((alpha - beta) / 2)


def tail_power(K: int | np.ndarray, beta: float) -> np.ndarray:
    """The loss Σ_{k>K} k^(−β) of a learner that fitted exactly the first K modes (M = ∞).

    Uses the midpoint Euler–Maclaurin form: ~1e-5 relative for K ≥ 10, 0.5 % at K = 1.
    """
    beta = check_real("beta", beta)
    K = np.asarray(K, dtype=np.float64)
    if beta <= 1 or np.any(K < 1):
        raise ValueError("tail_power needs beta > 1 and K >= 1")
    # Σ_{k>K} k^-β = ∫_{K+½}^∞ k^-β dk − (β/24)(K+½)^(−β−1) + …  (midpoint rule with its first correction)
    h = K + 0.5
    return h ** (1 - beta) / (beta - 1) - beta / 24 * h ** (-beta - 1)


def data_exponent(alpha: float, beta: float) -> float:
    """Exponent of L(n) ∝ n^(−e) for ridgeless regression: e = min(β − 1, 2α)."""
    alpha, beta = _exponents(alpha, beta)
    return min(beta - 1, 2 * alpha)


def param_exponent(alpha: float, beta: float) -> float:
    """Exponent of L(N) ∝ N^(−e) for N Gaussian random features at infinite data: e = min(β − 1, α)."""
    alpha, beta = _exponents(alpha, beta)
    return min(beta - 1, alpha)


def time_exponent(alpha: float, beta: float) -> float:
    """Exponent of L(τ) ∝ τ^(−e) for gradient flow at infinite data and width: e = (β − 1)/α."""
    alpha, beta = _exponents(alpha, beta)
    return (beta - 1) / alpha


def compute_exponent(alpha: float, beta: float) -> float:
    """Exponent of the compute frontier L*(C) ∝ C^(−c): c = (β − 1)/(1 + α) (for β − 1 ≤ α)."""
    alpha, beta = _exponents(alpha, beta)
    return (beta - 1) / (1 + alpha)


def n_star_exponent(alpha: float) -> float:
    """Exponent of the compute-optimal size N*(C) ∝ C^(1/(1 + α))."""
    alpha = check_real("alpha", alpha)
    if alpha <= 1:
        raise ValueError(f"alpha must be > 1, got {alpha}")
    return 1 / (1 + alpha)


def additive_frontier(p: float, q: float) -> tuple[float, float]:
    """Frontier of L(N, τ) = A·N^(−p) + B·τ^(−q) at compute C = N·τ: (c, n) with L* ∝ C^(−c), N* ∝ C^n.

    Minimising over N at fixed C balances the two terms (their ratio at the optimum is q/p), so
    N^(p+q) ∝ C^q: n = q/(p + q) and c = p·q/(p + q). With p = β − 1 and q = (β − 1)/α this is
    :func:`compute_exponent` and :func:`n_star_exponent`.
    """
    p, q = check_real("p", p, positive=True), check_real("q", q, positive=True)
    return p * q / (p + q), q / (p + q)


def compute_exponent_paquette(a: float, b: float) -> float:
    """The same frontier exponent in Paquette et al.'s variables: (2a + 2b − 1)/(2a + 1)."""
    a, b = check_real("a", a), check_real("b", b)
    return (2 * a + 2 * b - 1) / (2 * a + 1)


def gradient_flow_loss(lam: torch.Tensor, v2: torch.Tensor, tau: np.ndarray) -> np.ndarray:
    """Population loss Σ_k v_k² e^(−2λ_k τ) of gradient flow on ½·MSE from w = 0 (all modes, infinite data).

    Args:
        lam: eigenvalues λ_k, ``[M]``.
        v2: target power per mode v_k², ``[M]``.
        tau: times τ = η·steps, any shape.

    Returns:
        Array of tau's shape.
    """
    lam = torch.as_tensor(lam, dtype=torch.float64)
    v2 = torch.as_tensor(v2, dtype=torch.float64)
    if lam.shape != v2.shape or lam.ndim != 1:
        raise ValueError(f"lam and v2 must be 1-D of one length, got {tuple(lam.shape)} and {tuple(v2.shape)}")
    tau_t = torch.as_tensor(np.asarray(tau, dtype=np.float64))
    out = (v2 * torch.exp(-2 * lam * tau_t.reshape(-1, 1))).sum(-1)
    return out.reshape(tau_t.shape).numpy()
