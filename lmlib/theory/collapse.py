"""The geometry neural collapse converges to: the simplex equiangular tight frame (Papyan et al. 2020).

C unit vectors can be at most this spread out: since ‖Σ_c v_c‖² ≥ 0, the mean pairwise
cosine is ≥ −1/(C−1), with equality exactly when the vectors sum to zero and every pair
meets at the same angle arccos(−1/(C−1)). That configuration — the vertices of a regular
simplex centred at the origin — is the simplex ETF.
"""
from __future__ import annotations

import math

import torch

from lmlib._checks import check_int

__all__ = ["etf_cosine", "simplex_etf", "etf_gram"]


def etf_cosine(n_classes: int) -> float:
    """The pairwise cosine −1/(C−1) of a simplex ETF with C vertices.

    Raises:
        ValueError: if ``n_classes`` < 2.
    """
    C = check_int("n_classes", n_classes, minimum=2)
    return -1.0 / (C - 1)


def etf_gram(n_classes: int, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The Gram matrix C/(C−1)·(I − 11ᵀ/C) of a unit-norm simplex ETF, ``[C, C]``.

    Ones on the diagonal, −1/(C−1) off it; rank C − 1 (the vertices sum to zero).
    """
    C = check_int("n_classes", n_classes, minimum=2)
    return (torch.eye(C, dtype=dtype) - 1.0 / C) * (C / (C - 1))


def simplex_etf(n_classes: int, dim: int | None = None, *, seed: int = 0,
                dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """C unit vectors in R^dim forming a simplex ETF, randomly rotated: ``[C, dim]``.

    Built as √(C/(C−1))·(I − 11ᵀ/C) placed in a random C-dimensional subspace, so its
    Gram matrix is :func:`etf_gram`. ``dim`` defaults to C and must be ≥ C − 1 (the
    frame spans C − 1 dimensions; for dim = C − 1 it is projected onto that span).

    Raises:
        ValueError: if ``n_classes`` < 2 or ``dim`` < C − 1.
    """
    C = check_int("n_classes", n_classes, minimum=2)
    dim = C if dim is None else check_int("dim", dim, minimum=1)
    if dim < C - 1:
        raise ValueError(f"dim must be >= n_classes - 1 = {C - 1} to hold a simplex ETF, got {dim}")
    gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    centred = (torch.eye(C, dtype=torch.float64) - 1.0 / C) * math.sqrt(C / (C - 1))
    # An orthonormal basis of the frame's span (C − 1 dims), then a random isometry into R^dim.
    basis = torch.linalg.svd(centred).Vh[: C - 1]                     # [C−1, C]
    coords = centred @ basis.T                                        # [C, C−1], same Gram
    q, r = torch.linalg.qr(torch.randn(dim, C - 1, generator=gen, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))
    return (coords @ q.T).to(dtype)
