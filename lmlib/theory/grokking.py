"""Closed forms for the grokking chapter: the Fourier algorithm for modular addition, and
the timescale of decoupled weight decay.

The algorithm (Nanda et al. 2023): with ω_k = 2πk/p for a few key frequencies k,

    logit(c | a, b) = Σ_k α_k cos(ω_k (a + b − c)),

which, for α_k > 0, is maximal exactly at c = (a + b) mod p: every term equals α_k
there and the terms cannot all be that large anywhere else (constructive interference).
The cos(ω_k(a + b)) a network needs come from cos(ω_k a), sin(ω_k a), cos(ω_k b),
sin(ω_k b) by the angle-addition identities — products, which a ReLU layer can approximate.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from lmlib._checks import check_int, check_real

__all__ = ["fourier_logits", "weight_decay_half_life", "chance_accuracy"]


def fourier_logits(a, b, p: int, freqs: Sequence[int], weights: Sequence[float] | None = None) -> np.ndarray:
    """Logits Σ_k α_k cos(2πk(a + b − c)/p) of the ideal Fourier circuit, for every c.

    Args:
        a, b: operands (ints or integer arrays of one shape S).
        p: the modulus.
        freqs: the key frequencies k (integers in 1 … (p − 1)/2).
        weights: α_k (> 0 for a correct circuit); all 1 if None.

    Returns:
        float64 array of shape ``S + (p,)``.
    """
    p = check_int("p", p, minimum=2)
    freqs = np.asarray(freqs, dtype=np.float64)
    if freqs.ndim != 1 or freqs.size == 0:
        raise ValueError(f"freqs must be a non-empty 1-D sequence, got {freqs!r}")
    alpha = np.ones_like(freqs) if weights is None else np.asarray(weights, dtype=np.float64)
    if alpha.shape != freqs.shape:
        raise ValueError(f"weights must match freqs in length, got {alpha.shape} and {freqs.shape}")
    s = (np.asarray(a) + np.asarray(b))[..., None] - np.arange(p)          # a + b − c
    return np.tensordot(np.cos(2 * np.pi * s[..., None] * freqs / p), alpha, axes=([-1], [0]))


def weight_decay_half_life(lr: float, weight_decay: float) -> float:
    """Steps for AdamW's decay alone, θ ← (1 − η·λ)·θ, to halve a weight: ln 2 / −ln(1 − ηλ).

    Components of the weights that the loss gradient no longer supports (the memorising
    part, once the algorithm fits the data) shrink on this timescale, ≈ ln 2/(ηλ).

    Raises:
        ValueError: unless 0 < η·λ < 1.
    """
    lr = check_real("lr", lr, positive=True)
    weight_decay = check_real("weight_decay", weight_decay, positive=True)
    if lr * weight_decay >= 1:
        raise ValueError(f"lr * weight_decay must be < 1, got {lr * weight_decay}")
    return math.log(2.0) / -math.log1p(-lr * weight_decay)


def chance_accuracy(p: int) -> float:
    """Accuracy of guessing one of p classes: 1/p."""
    return 1.0 / check_int("p", p, minimum=2)
