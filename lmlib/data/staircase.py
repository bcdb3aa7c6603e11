"""Staircase targets on the Boolean hypercube (Abbe et al. 2022).

f*(x) = x_1 + x_1x_2 + … + x_1x_2…x_k on {±1}^d: a sum of Walsh monomials of degree 1 … k,
each containing the previous one. A network can learn it one step at a time (each new
monomial adds a single coordinate to what it already uses), while a rotation-invariant
kernel must pay for every degree-k monomial of the cube (there are C(d, k) of them).
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from lmlib._checks import check_int, check_tensor
from lmlib.theory.kernels import hypercube

__all__ = ["StaircaseData", "staircase_function", "staircase"]


class StaircaseData(NamedTuple):
    """Training and test sets of a staircase target: ``x [n, d]``, ``y [n]``, ``x_test``, ``y_test``."""

    x: torch.Tensor
    y: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def staircase_function(x: torch.Tensor, k: int = 3) -> torch.Tensor:
    """The staircase x_1 + x_1x_2 + … + x_1…x_k (coordinates 0 … k−1 in code).

    Args:
        x: points ``[n, d]`` with d ≥ k.
        k: number of steps (the top degree).

    Returns:
        Tensor ``[n]`` in the dtype of ``x``.

    Raises:
        TypeError, ValueError: if ``x`` is not ``[n, d]`` or ``k`` is not in [1, d].
    """
    x = check_tensor("x", x, ndim=2)
    k = check_int("k", k, minimum=1)
    if k > x.shape[1]:
        raise ValueError(f"k = {k} steps need d >= {k} coordinates, got d = {x.shape[1]}")
    return torch.cumprod(x[:, :k], dim=1).sum(1)


def staircase(
    n: int,
    d: int = 30,
    k: int = 3,
    *,
    n_test: int = 2048,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> StaircaseData:
    """Distinct uniform points of {±1}^d with staircase labels, split into train and test.

    Training and test points are all distinct (drawn together without replacement), so the
    test error is a generalisation error. Nested training sets for a learning curve are the
    prefixes ``x[:n']`` of one large draw.

    Args:
        n: number of training points.
        d: dimension.
        k: number of steps of the staircase.
        n_test: number of test points.
        seed: seed of the draw.
        dtype: dtype of the tensors.

    Returns:
        A :class:`StaircaseData`.

    Raises:
        TypeError, ValueError: for bad sizes (see :func:`lmlib.theory.kernels.hypercube`).
    """
    n = check_int("n", n, minimum=1)
    n_test = check_int("n_test", n_test, minimum=1)
    pts = hypercube(d, n + n_test, seed=seed, dtype=dtype)
    y = staircase_function(pts, k)
    return StaircaseData(pts[:n], y[:n], pts[n:], y[n:])
