"""Fourier analysis on Z_p: the basis in which a network that grokked modular addition is sparse.

A function on the residues 0 … p − 1 (p odd) expands in the real orthonormal basis
1/√p, and √(2/p)·cos(2πka/p), √(2/p)·sin(2πka/p) for frequencies k = 1 … (p − 1)/2.
Networks trained on (a + b) mod p with weight decay end up with embeddings built from
a handful of these frequencies (Nanda et al. 2023), because cos(w(a + b)) follows from
cos(wa), sin(wa), cos(wb), sin(wb) by the angle-addition identities: the network
computes the sum in Fourier space. :func:`frequency_power` measures how the squared
norm of a matrix whose rows are indexed by residues spreads over the frequencies.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from lmlib._checks import check_int, check_tensor

__all__ = ["fourier_basis", "frequency_power", "null_top_k_share", "top_k_share", "key_frequencies",
           "sum_explained"]


def fourier_basis(p: int, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The real orthonormal Fourier basis of Z_p as rows of a ``[p, p]`` matrix (p odd).

    Row 0 is the constant 1/√p; rows 2k − 1 and 2k are cos and sin at frequency k.

    Raises:
        ValueError: if p is even or < 3 (then the Nyquist frequency needs its own row).
    """
    p = check_int("p", p, minimum=3)
    if p % 2 == 0:
        raise ValueError(f"p must be odd, got {p}")
    a = torch.arange(p, dtype=dtype)
    rows = [torch.full((p,), 1.0 / math.sqrt(p), dtype=dtype)]
    for k in range(1, (p - 1) // 2 + 1):
        rows += [math.sqrt(2.0 / p) * torch.cos(2 * math.pi * k * a / p),
                 math.sqrt(2.0 / p) * torch.sin(2 * math.pi * k * a / p)]
    return torch.stack(rows)


def frequency_power(weights: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """Squared norm of ``weights`` (``[p, d]``, rows indexed by residues) per frequency.

    Entry 0 is the constant (frequency 0) component; entry k ≥ 1 sums the squared cos
    and sin coefficients at frequency k over the d columns. The entries add up to
    ‖weights‖²_F (Parseval), so ``power / power.sum()`` are shares of the norm.

    A tensor gives a tensor (pure torch, so it can run under ``vmap`` as a ``record=``
    observable of :func:`lmlib.ensemble.train_ensemble`); a NumPy array gives float64 NumPy.

    Returns:
        length (p − 1)/2 + 1.
    """
    as_numpy = isinstance(weights, np.ndarray)
    w = check_tensor("weights", weights, ndim=2, floating=True)
    coeffs = fourier_basis(w.shape[0], dtype=w.dtype).to(w.device) @ w         # [p, d]
    sq = coeffs.pow(2).sum(1)
    power = torch.cat([sq[:1], sq[1::2] + sq[2::2]])
    return power.detach().cpu().double().numpy() if as_numpy else power


def null_top_k_share(p: int, d: int, k: int, *, draws: int = 2000, seed: int = 0) -> float:
    """Expected :func:`top_k_share` of a ``[p, d]`` matrix of i.i.d. Gaussian entries.

    The orthonormal Fourier basis maps i.i.d. Gaussians to i.i.d. Gaussians, so each of the
    K = (p − 1)/2 frequencies carries an independent χ² with 2d degrees of freedom: every
    frequency gets about 1/K of the norm and the top k about k/K, plus the excess of the
    largest of K fluctuating values. This is the "no structure" reference for a trained embedding.

    Args:
        p: the modulus (odd).
        d: number of columns (embedding width).
        k: how many frequencies.
        draws: Monte Carlo draws of the K χ² values.
        seed: seed of the draws.
    """
    K = (check_int("p", p, minimum=3) - 1) // 2
    d = check_int("d", d, minimum=1)
    k = check_int("k", k, minimum=1)
    if k > K:
        raise ValueError(f"k={k} exceeds the number of frequencies ({K})")
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    chi2 = np.sort(rng.chisquare(2 * d, size=(check_int("draws", draws, minimum=1), K)), axis=1)[:, ::-1]
    return float(np.mean(chi2[:, :k].sum(1) / chi2.sum(1)))


def top_k_share(power: np.ndarray, k: int, *, include_constant: bool = False) -> float:
    """The share of the non-constant squared norm carried by the ``k`` strongest frequencies.

    Args:
        power: output of :func:`frequency_power` (entry 0 the constant component).
        k: how many frequencies.
        include_constant: count the constant component too (in the numerator's
            candidates and in the total).
    """
    power = _as_numpy(power)
    if power.ndim != 1 or power.size < 2:
        raise ValueError(f"power must be a 1-D array of length >= 2, got shape {power.shape}")
    k = check_int("k", k, minimum=1)
    p = power if include_constant else power[1:]
    if k > p.size:
        raise ValueError(f"k={k} exceeds the number of frequencies ({p.size})")
    return float(np.sort(p)[::-1][:k].sum() / p.sum())


def key_frequencies(power: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` strongest non-constant frequencies, strongest first (values in 1 … (p − 1)/2)."""
    power = _as_numpy(power)
    k = check_int("k", k, minimum=1)
    if k > power.size - 1:
        raise ValueError(f"k={k} exceeds the number of frequencies ({power.size - 1})")
    return np.argsort(power[1:])[::-1][:k] + 1


def _as_numpy(power) -> np.ndarray:
    if isinstance(power, torch.Tensor):
        return power.detach().cpu().double().numpy()
    return np.asarray(power, dtype=np.float64)


def sum_explained(logits: torch.Tensor | np.ndarray) -> float:
    """Share of the logits' variance that depends on (a, b, c) only through (a + b − c) mod p.

    The Fourier circuit's logits are a function of a + b − c alone; a lookup table's are
    not. Each example's mean over c is removed first (softmax ignores it); the rest is
    projected on functions of s = (a + b − c) mod p by averaging over each value of s.

    Args:
        logits: ``[p, p, p]`` logits for every input pair (a, b) and output c.

    Returns:
        A number in [0, 1]: 1 for the circuit of :func:`lmlib.theory.grokking.fourier_logits`.
    """
    z = check_tensor("logits", logits, ndim=3, floating=True).detach().to("cpu", torch.float64)
    p = z.shape[0]
    if z.shape != (p, p, p):
        raise ValueError(f"logits must be [p, p, p], got {tuple(z.shape)}")
    z = z - z.mean(-1, keepdim=True)
    r = torch.arange(p)
    s = (r[:, None, None] + r[None, :, None] - r[None, None, :]) % p
    means = torch.zeros(p, dtype=torch.float64).index_add_(0, s.flatten(), z.flatten()) / p ** 2
    return float(1.0 - (z - means[s]).pow(2).sum() / z.pow(2).sum())
