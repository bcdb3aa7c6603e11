"""Answer checks for the exercises of ``chapters/01_solvable/beyond_linear.md``."""
from __future__ import annotations

import math

from lmlib.exercises import Exercise
from lmlib.theory.staircase import leap, staircase_kernel_theory


def _kernel_n(target: float = 0.01) -> float:
    # Bisection on log n: the predicted MSE falls monotonically with n.
    lo, hi = 1e3, 1e7
    for _ in range(25):  # the bracket is then a few samples wide
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if staircase_kernel_theory(int(mid))["test_mse"] > target else (lo, mid)
    return float(int(hi))


EXERCISES: dict[str, Exercise] = {
    "leap": Exercise(
        reference=lambda monomials: leap(monomials),
        inputs=(
            dict(monomials=[(0,), (0, 1), (0, 1, 2)]),
            dict(monomials=[(0, 1, 2)]),
            dict(monomials=[(0,), (0, 1, 2)]),
            dict(monomials=[(0, 1), (1, 2), (2, 3)]),
            dict(monomials=[(0,), (1,), (0, 1, 2, 3)]),
            dict(monomials=[(3, 4), (0,), (0, 1), (1, 2, 3)]),
            dict(monomials=[(5,), (0, 1, 2, 3, 4, 5)]),
        ),
        rtol=0.0,
        hint="Adding a monomial never makes another one harder to add: for each candidate leap L, "
             "add any monomial with at most L unknown coordinates until nothing changes.",
    ),
    "kernel_n": Exercise(
        reference=_kernel_n,
        rtol=0.02,
        hint="staircase_kernel_theory(n)['test_mse'] decreases with n; bisect on log n between "
             "1e3 and 1e7 until the bracket is a few samples wide.",
    ),
}
