"""Answer checks for the exercises of ``chapters/01_solvable/diagonal_linear.md``."""
from __future__ import annotations

from lmlib.exercises import Exercise
from lmlib.theory import diagonal

EXERCISES: dict[str, Exercise] = {
    "l2_error": Exercise(
        reference=lambda: diagonal.min_l2_expected_error(3.0, 40, 100),
        rtol=1e-3,
        hint="The minimum-ℓ2 interpolant projects w* onto the row space of X, a random "
             "n-dimensional subspace of ℝ^d: which fraction of ‖w*‖² does it lose on average?",
    ),
}
