"""Why a kernel cannot climb the staircase, and what a network needs to.

* :func:`leap` -- the leap complexity of a set of Walsh monomials (Abbe et al. 2023): the
  fewest new coordinates a learner must pick up at once when it adds the monomials one by
  one in the best order. The staircase x₁ + x₁x₂ + x₁x₂x₃ has leap 1 ("merged staircase",
  Abbe et al. 2022); x₁x₂x₃ alone has leap 3. SGD on two-layer networks needs about
  d^max(1, leap − 1) samples, up to logarithms.
* :func:`hypercube_gram` -- Gram matrices of a dot-product kernel on {±1}^d by table lookup:
  x·x′ takes only the d + 1 values d, d − 2, …, −d, so the kernel is evaluated d + 1 times.
* :func:`staircase_kernel_theory` -- the eigenlearning prediction (Simon et al. 2023;
  Bordelon et al. 2020) of kernel ridge regression's test error on a sum of monomials, from
  the kernel's exact hypercube spectrum: each degree-k mode has eigenvalue λ_k and
  multiplicity C(d, k), so a kernel learns degree k only once n is comparable to C(d, k).
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch

from lmlib._checks import check_int, check_real, check_tensor
from lmlib.ntk import eigenlearning
from lmlib.theory.kernels import hypercube_eigenvalues, relu_ntk_dot

__all__ = ["leap", "hypercube_gram", "staircase_kernel_theory"]


def leap(monomials: Sequence[Sequence[int]]) -> int:
    """Leap complexity of a sum of Walsh monomials (Abbe et al. 2023).

    The smallest L such that, starting from no known coordinates and repeatedly adding any
    monomial with at most L coordinates not yet known, every monomial gets added. (Which
    monomials can be added only grows as coordinates become known, so this closure does not
    depend on the order, and testing L = 0, 1, … gives the exact minimum over orderings.)

    Args:
        monomials: the index sets of the monomials with nonzero coefficient, e.g.
            ``[(0,), (0, 1), (0, 1, 2)]``. The constant ``()`` is allowed and costs nothing.

    Returns:
        The leap, an int ≥ 0 (0 only for an empty or constant function).

    Raises:
        TypeError: if a monomial is not a sequence of non-negative ints.
    """
    sets = []
    for s in monomials:
        if isinstance(s, (str, bytes)) or not isinstance(s, Sequence):
            raise TypeError(f"each monomial must be a sequence of coordinate indices, got {s!r}")
        sets.append(frozenset(check_int("coordinate", i, minimum=0) for i in s))
    for L in range(0, max((len(s) for s in sets), default=0) + 1):
        known, left = set(), list(sets)
        grew = True
        while left and grew:
            grew = False
            for s in list(left):
                if len(s - known) <= L:
                    known |= s
                    left.remove(s)
                    grew = True
        if not left:
            return L
    raise AssertionError("unreachable: L = the largest degree always adds everything")


def hypercube_gram(x1: torch.Tensor, x2: torch.Tensor, kernel_of_dot: Callable = relu_ntk_dot) -> torch.Tensor:
    """K[a, b] = g(x1_a · x2_b / d) for points of {±1}^d, by a lookup table of d + 1 values.

    Args:
        x1, x2: points ``[n1, d]`` and ``[n2, d]`` with ±1 entries.
        kernel_of_dot: g, a function of t = x·x′/d ∈ [−1, 1] (default: the infinite-width ReLU
            NTK with bias, :func:`lmlib.theory.kernels.relu_ntk_dot`).

    Returns:
        Tensor ``[n1, n2]`` in the dtype of ``x1`` (float64 is advisable for large solves).

    Raises:
        TypeError, ValueError: for non-floating inputs, mismatched d, or entries other than ±1.
    """
    x1 = check_tensor("x1", x1, ndim=2, floating=True)
    x2 = check_tensor("x2", x2, ndim=2, floating=True).to(x1)
    d = x1.shape[1]
    if x2.shape[1] != d:
        raise ValueError(f"x2 must have d = {d} columns like x1, got {tuple(x2.shape)}")
    for name, x in (("x1", x1), ("x2", x2)):
        if not bool((x.abs() == 1).all()):
            raise ValueError(f"{name} must have entries ±1 (points of the hypercube)")
    table = torch.as_tensor(kernel_of_dot(torch.arange(-d, d + 1, dtype=torch.float64) / d),
                            dtype=torch.float64).to(device=x1.device, dtype=x1.dtype)
    # x·x′ is an exact small integer in any float dtype; + d turns it into a table index.
    return table[(x1 @ x2.T).round().long() + d]


def staircase_kernel_theory(
    n: int | Sequence[int],
    d: int = 30,
    k: int = 3,
    *,
    kernel_of_dot: Callable = relu_ntk_dot,
    ridge: float = 0.0,
    max_degree: int = 5,
) -> dict:
    """Eigenlearning prediction for kernel regression on the staircase of :mod:`lmlib.data.staircase`.

    Modes up to ``max_degree`` are kept explicitly (C(d, j) copies of λ_j each); modes of higher
    degree, whose eigenvalues lie far below the effective ridge κ at the n of interest, enter only
    through their total Σ_j C(d, j)·λ_j, added to the ridge (for λ ≪ κ, λ/(λ + κ) ≈ λ/κ, which is
    exactly how a ridge enters the κ equation).

    Args:
        n: training-set size(s).
        d: dimension of the cube.
        k: steps of the staircase (one monomial of each degree 1 … k, coefficient 1).
        kernel_of_dot: g(t) with K(x, x′) = g(x·x′/d).
        ridge: ridge δ added to the Gram matrix.
        max_degree: the highest degree kept mode by mode (≥ k).

    Returns:
        The dict of :func:`lmlib.ntk.eigenlearning` (``test_mse``, ``kappa``, …) plus
        ``degree_learnability``: the learnability λ_j/(λ_j + κ) of each staircase degree
        j = 1 … k, shape ``[k]`` (or ``[len(n), k]``).

    Raises:
        TypeError, ValueError: for bad arguments.
    """
    d = check_int("d", d, minimum=1)
    k = check_int("k", k, minimum=1)
    max_degree = check_int("max_degree", max_degree, minimum=k)
    ridge = check_real("ridge", ridge, nonnegative=True)
    if max_degree > d:
        raise ValueError(f"max_degree must be <= d = {d}, got {max_degree}")
    lam = hypercube_eigenvalues(kernel_of_dot, d).numpy()
    mult = np.array([math.comb(d, j) for j in range(d + 1)], dtype=np.float64)
    kept = np.repeat(lam[: max_degree + 1], mult[: max_degree + 1].astype(np.int64))
    tail = float(np.sum(mult[max_degree + 1:] * lam[max_degree + 1:]))
    starts = np.concatenate([[0], np.cumsum(mult[: max_degree + 1])]).astype(np.int64)
    coef = np.zeros_like(kept)
    coef[starts[1: k + 1]] = 1.0  # one monomial per degree 1 … k (all modes of a degree are alike)
    out = eigenlearning(kept, coef, n, ridge=ridge + tail)
    L = np.asarray(out["learnabilities"])
    out["degree_learnability"] = L[..., starts[1: k + 1]]
    del out["learnabilities"]  # ~10⁵ numbers per n that no one needs
    return out
