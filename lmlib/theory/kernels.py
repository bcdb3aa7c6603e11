"""Kernels whose eigensystems are known in closed form.

On the Boolean hypercube {±1}^d with the uniform measure, every dot-product kernel
K(x, x') = g(x·x'/d) has the Walsh monomials χ_S(x) = Π_{i∈S} x_i as eigenfunctions, with
one eigenvalue per degree |S| (:func:`hypercube_eigenvalues`). That makes the hypercube the
place where :func:`lmlib.ntk.eigenlearning` can be tested against kernel regression
with no estimation error in the eigensystem. :func:`relu_ntk` is the infinite-width NTK
of a two-layer ReLU network (Jacot et al. 2018; arc-cosine kernels of Cho & Saul 2009).
"""
from __future__ import annotations

import itertools
import math
import sys
from typing import Callable, Sequence

import numpy as np
import torch

from lmlib._checks import check_int, check_tensor

__all__ = ["hypercube", "walsh_subsets", "walsh", "hypercube_eigenvalues", "relu_ntk", "relu_ntk_dot"]


# ----------------------------------------------------------------------------- the hypercube
def hypercube(
    d: int,
    n: int | None = None,
    *,
    seed: int = 0,
    replace: bool = False,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Points of the Boolean hypercube {±1}^d: all 2^d of them, or n drawn uniformly.

    Args:
        d: dimension.
        n: number of samples; ``None`` lists all points, point i having x_j = 1 − 2·(bit j of i).
        seed: seed of the sampler's own generator (the global RNG is untouched).
        replace: draw with replacement. The default draws distinct points: on small cubes
            repeats make kernel regression worse than :func:`eigenlearning` predicts
            (by ~50 % at n = 2^d/2 for d = 8).
        dtype: defaults to torch's default dtype.
        device: where to put the result.

    Returns:
        Tensor ``[2^d, d]`` or ``[n, d]`` of ±1.

    Raises:
        TypeError, ValueError: for bad ``d``, ``n`` or ``seed``, or ``n > 2^d`` without replacement.
    """
    d = check_int("d", d, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    dtype = dtype or torch.get_default_dtype()
    if n is None:
        if d > 24:
            raise ValueError(f"d = {d} is too large to list all 2^d points; pass n to sample")
        bits = (torch.arange(2**d)[:, None] >> torch.arange(d)) & 1
    else:
        n = check_int("n", n, minimum=1)
        gen = torch.Generator().manual_seed(seed)
        if replace:
            bits = torch.randint(0, 2, (n, d), generator=gen)
        elif d > 62 or n > 2**d:
            raise ValueError(f"n = {n} distinct points need d <= 62 and n <= 2^d = 2^{d}")
        else:
            if d <= 24:
                idx = torch.randperm(2**d, generator=gen)[:n]
            else:  # too many points to permute: draw, drop repeats, keep the first n
                picked: dict[int, None] = {}
                while len(picked) < n:
                    picked.update(dict.fromkeys(torch.randint(0, 2**d, (2 * n,), generator=gen).tolist()))
                idx = torch.tensor(list(picked)[:n])
            bits = (idx[:, None] >> torch.arange(d)) & 1
    return (1 - 2 * bits).to(dtype=dtype, device=device)


def walsh_subsets(d: int, max_degree: int | None = None) -> list[tuple[int, ...]]:
    """The index sets S ⊆ {0, …, d−1} of the Walsh monomials, by degree then lexicographically.

    Args:
        d: dimension.
        max_degree: keep |S| ≤ max_degree (default: all 2^d subsets).

    Returns:
        A list of tuples, starting ``[(), (0,), (1,), …]``.

    Raises:
        TypeError, ValueError: for bad ``d`` or ``max_degree``.
    """
    d = check_int("d", d, minimum=0)
    top = d if max_degree is None else min(d, check_int("max_degree", max_degree, minimum=0))
    return [s for k in range(top + 1) for s in itertools.combinations(range(d), k)]


def walsh(x: torch.Tensor, subsets: Sequence[Sequence[int]]) -> torch.Tensor:
    """Walsh monomials χ_S(x) = Π_{i∈S} x_i, orthonormal under the uniform measure on {±1}^d.

    Args:
        x: points ``[n, d]``.
        subsets: the index sets S (e.g. from :func:`walsh_subsets`); ``()`` is the constant 1.

    Returns:
        Features ``[n, len(subsets)]`` in the dtype of ``x``.

    Raises:
        TypeError, ValueError: if ``x`` is not ``[n, d]`` or a subset holds an index outside [0, d).
    """
    x = check_tensor("x", x, ndim=2)
    d, cols = x.shape[1], []
    for s in subsets:
        s = list(s)
        if any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < d for i in s):
            raise ValueError(f"subsets must hold indices in [0, {d}), got {tuple(s)}")
        cols.append(x[:, s].prod(dim=1))
    return torch.stack(cols, dim=1) if cols else x.new_zeros(x.shape[0], 0)


def hypercube_eigenvalues(kernel_of_dot: Callable, d: int) -> torch.Tensor:
    """Exact eigenvalues of a dot-product kernel K(x, x') = g(x·x'/d) on the uniform hypercube.

    K depends only on the Hamming distance j (x·x' = d − 2j), so it is diagonal in the Walsh
    basis, and λ_k = E_{x'}[K(1, x') χ_S(x')] for |S| = k, i.e.

        λ_k = 2^{−d} Σ_j g((d − 2j)/d) · Σ_i (−1)^i C(k, i) C(d − k, j − i)     (a Krawtchouk sum),

    each with multiplicity C(d, k). λ_k are eigenvalues of the integral operator under the uniform
    measure, as :func:`eigenlearning` expects (the 2^d × 2^d Gram matrix has eigenvalues 2^d·λ_k).

    Args:
        kernel_of_dot: g, called with a float64 tensor of the d + 1 values t = (d − 2j)/d.
        d: dimension.

    Returns:
        Float64 tensor ``[d + 1]``, λ_k for degree k = 0 … d. Values within float64 roundoff
        of zero (about 1e-16·max|g|) are set to 0, as they cannot be resolved.

    Raises:
        TypeError, ValueError: for a bad ``d``, or if g does not return d + 1 finite numbers.
    """
    d = check_int("d", d, minimum=1)
    if not callable(kernel_of_dot):
        raise TypeError(f"kernel_of_dot must be callable, got {type(kernel_of_dot).__name__}")
    t = (d - 2 * torch.arange(d + 1, dtype=torch.float64)) / d
    h = torch.as_tensor(kernel_of_dot(t), dtype=torch.float64).reshape(-1)
    if h.shape != (d + 1,) or not torch.isfinite(h).all():
        raise ValueError(f"kernel_of_dot must return {d + 1} finite values for t of shape [{d + 1}]")
    h = h.tolist()
    lam = []
    for k in range(d + 1):
        kraw = [sum((-1) ** i * math.comb(k, i) * math.comb(d - k, j - i) for i in range(min(k, j) + 1))
                for j in range(d + 1)]  # exact integers
        val = math.fsum(hj * kj for hj, kj in zip(h, kraw)) / 2**d
        floor = 16 * sys.float_info.epsilon * math.fsum(abs(hj * kj) for hj, kj in zip(h, kraw)) / 2**d
        lam.append(0.0 if abs(val) <= floor else val)
    return torch.tensor(lam, dtype=torch.float64)


# ----------------------------------------------------------------------------- infinite-width ReLU NTK
def relu_ntk(x1: torch.Tensor, x2: torch.Tensor | None = None, *, bias: bool = True) -> torch.Tensor:
    """Infinite-width NTK of f(x) = (1/√m) Σ_j a_j relu(w_j·x/√d + b_j), all of a, w, b ~ N(0, 1) trained.

    With u = w·x/√d + b, the pre-activation covariance is Σ(x, x') = x·x'/d + 1 (no ``+ 1`` without
    bias), and with cos θ = Σ(x, x')/√(Σ(x, x)Σ(x', x')) the arc-cosine kernels (Cho & Saul 2009) give

        Θ = √(Σ(x,x)Σ(x',x'))/(2π)·(sin θ + (π − θ) cos θ)  +  Σ(x, x')·(π − θ)/(2π),

    the first term from the output weights a, the second from w and b. Without ``bias`` b is absent.

    Args:
        x1: inputs ``[n1, d]``.
        x2: inputs ``[n2, d]``; defaults to ``x1``.
        bias: whether the hidden layer has the trained bias b.

    Returns:
        Tensor ``[n1, n2]`` in the dtype of ``x1``.

    Raises:
        TypeError, ValueError: if the inputs are not floating ``[n, d]`` with the same d.
    """
    x1 = check_tensor("x1", x1, ndim=2, floating=True)
    x2 = x1 if x2 is None else check_tensor("x2", x2, ndim=2, floating=True)
    if x2.shape[1] != x1.shape[1]:
        raise ValueError(f"x2 must have d = {x1.shape[1]} columns like x1, got shape {tuple(x2.shape)}")
    d, c = x1.shape[1], float(bias)
    q1, q2 = (x1**2).sum(1) / d + c, (x2**2).sum(1) / d + c
    return _relu_ntk(x1 @ x2.T / d + c, torch.sqrt(q1[:, None] * q2[None, :]))


def relu_ntk_dot(t: torch.Tensor, *, bias: bool = True) -> torch.Tensor:
    """:func:`relu_ntk` for inputs with |x|² = d (the hypercube, the sphere of radius √d).

    Args:
        t: values of x·x'/d in [−1, 1] (any shape).
        bias: as in :func:`relu_ntk`.

    Returns:
        g(t), the kernel as a function of t -- ready for :func:`hypercube_eigenvalues`.
    """
    t = torch.as_tensor(t)
    t = t if t.is_floating_point() else t.to(torch.float64)
    return _relu_ntk(t + float(bias), torch.full_like(t, 1.0 + float(bias)))


def _relu_ntk(sigma: torch.Tensor, norm: torch.Tensor) -> torch.Tensor:
    # sigma = Σ(x, x'), norm = √(Σ(x, x)·Σ(x', x')).
    # clamp: roundoff can push |cos θ| past 1 on the diagonal; x = 0 without bias has norm 0
    cos = (sigma / norm.clamp_min(torch.finfo(norm.dtype).tiny)).clamp(-1.0, 1.0)
    theta = torch.arccos(cos)
    sin = torch.sqrt((1 - cos**2).clamp_min(0.0))
    return norm / (2 * math.pi) * (sin + (math.pi - theta) * cos) + sigma * (math.pi - theta) / (2 * math.pi)
