"""Synthetic data with known structure: exactly whitened inputs and low-rank linear targets.

Nothing here downloads anything. Every generator takes a ``seed`` and returns
tensors on the CPU in float32 unless ``dtype`` says otherwise; move them with
``.to(lmlib.device())``.
"""
from __future__ import annotations

import torch

from lmlib._checks import check_int, check_tensor

__all__ = ["whitened_inputs", "low_rank_target"]


def _orthonormal(rows: int, cols: int, gen: torch.Generator) -> torch.Tensor:
    # QR of a Gaussian matrix, with the sign fix that makes the result Haar-distributed.
    q, r = torch.linalg.qr(torch.randn(rows, cols, generator=gen, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r)).unsqueeze(0)


def whitened_inputs(n: int, d: int, *, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``n`` Gaussian inputs in R^d whitened exactly: (1/n)·XᵀX = I.

    Exact whitening (not just in expectation) is what makes the deep linear
    network's loss split into independent modes at finite n.

    Raises:
        ValueError: if ``n < d`` (then XᵀX/n cannot be the identity).
    """
    n = check_int("n", n, minimum=1)
    d = check_int("d", d, minimum=1)
    if n < d:
        raise ValueError(f"need n >= d to whiten exactly, got n={n}, d={d}")
    gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    x = x - x.mean(0)
    # Symmetric whitening x ← x C^{-1/2}: keeps the data as close to the raw draw as possible.
    evals, evecs = torch.linalg.eigh(x.T @ x / n)
    x = x @ evecs @ torch.diag(evals.rsqrt()) @ evecs.T
    return x.to(dtype)


def low_rank_target(
    singular_values, d_in: int, d_out: int, *, seed: int = 0, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A random linear map M = A diag(s) Bᵀ with prescribed singular values.

    Args:
        singular_values: s, shape ``[r]``, positive (need not be sorted).
        d_in, d_out: input and output dimensions, both >= r.

    Returns:
        ``(M, A, B)``: M ``[d_out, d_in]``, left vectors A ``[d_out, r]``, right vectors
        B ``[d_in, r]`` (orthonormal columns, column i belonging to ``s[i]``).
        Targets are ``y = x @ M.T``.
    """
    s = check_tensor("singular_values", torch.as_tensor(singular_values, dtype=torch.float64), ndim=1)
    r = s.numel()
    if r == 0 or bool((s <= 0).any()):
        raise ValueError(f"singular_values must be a non-empty list of positive numbers, got {s.tolist()}")
    d_in = check_int("d_in", d_in, minimum=r)
    d_out = check_int("d_out", d_out, minimum=r)
    gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    a = _orthonormal(d_out, r, gen)
    b = _orthonormal(d_in, r, gen)
    m = a @ torch.diag(s) @ b.T
    return m.to(dtype), a.to(dtype), b.to(dtype)
