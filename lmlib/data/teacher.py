"""Teacher–student data: Gaussian inputs, a target that depends on a few hidden directions.

The teacher is a sum of r ReLU units with orthonormal weight vectors u_1 … u_r in R^d,

    f*(x) = Σ_k relu(u_k · x),      x ~ N(0, I_d),

so the target lives in the r-dimensional *teacher subspace* span(U). A student that learns
features should move its first-layer weights into that subspace; a lazy student keeps them
where they started (Chizat et al. 2019). The subspace is returned with the data so a
chapter can measure exactly that.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from lmlib._checks import check_int

__all__ = ["TeacherData", "teacher_student"]


class TeacherData(NamedTuple):
    """Training and test sets drawn from one teacher.

    Attributes:
        x, y: training inputs ``[n, d]`` and targets ``[n]``.
        x_test, y_test: test inputs ``[n_test, d]`` and targets ``[n_test]``.
        directions: the teacher's orthonormal directions U, ``[d, r]``.
    """

    x: torch.Tensor
    y: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    directions: torch.Tensor


def teacher_student(
    n: int,
    d: int,
    r: int = 2,
    *,
    n_test: int = 1024,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> TeacherData:
    """Draw a teacher with ``r`` orthonormal ReLU directions in R^d and data from it.

    Args:
        n: number of training points.
        d: input dimension.
        r: number of teacher directions (1 ≤ r ≤ d).
        n_test: number of test points (≥ 1), drawn independently of the training set.
        seed: seed of the generator that draws U, the training and the test inputs.
        dtype: dtype of the returned tensors (the draw itself is float64).

    Returns:
        A :class:`TeacherData` with targets y = Σ_k relu(u_k·x) (no label noise).

    Raises:
        TypeError, ValueError: for non-integer or out-of-range ``n``, ``d``, ``r``, ``n_test``, ``seed``.
    """
    n = check_int("n", n, minimum=1)
    d = check_int("d", d, minimum=1)
    r = check_int("r", r, minimum=1)
    n_test = check_int("n_test", n_test, minimum=1)
    if r > d:
        raise ValueError(f"r must be <= d = {d} (r orthonormal directions in R^d), got {r}")
    gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    # A Haar-random subspace: no coordinate is special, so alignment with U is not alignment with e_1.
    q, rr = torch.linalg.qr(torch.randn(d, r, generator=gen, dtype=torch.float64))
    U = q * torch.sign(torch.diagonal(rr))
    x = torch.randn(n + n_test, d, generator=gen, dtype=torch.float64)
    y = torch.relu(x @ U).sum(1)
    cast = lambda t: t.to(dtype)  # noqa: E731
    return TeacherData(cast(x[:n]), cast(y[:n]), cast(x[n:]), cast(y[n:]), cast(U))
