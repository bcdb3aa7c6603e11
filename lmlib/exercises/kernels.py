"""Answer checks for the exercises of ``chapters/01_solvable/kernels.md``."""
from __future__ import annotations

import math

from lmlib.exercises import Exercise
from lmlib.ntk import eigenlearning
from lmlib.theory.kernels import relu_ntk_dot
from lmlib.theory.linearised import hypercube_eigensystem


def _two_monomials_mse() -> float:
    # The chapter's kernel: a two-layer ReLU NTK on x̃ = (x, √d), d = 8, i.e. d/(d+1)·relu_ntk_dot.
    d = 8
    target = {(0, 1): 1 / math.sqrt(2), (2, 3, 4): 1 / math.sqrt(2)}
    lam, v = hypercube_eigensystem(lambda t: d / (d + 1) * relu_ntk_dot(t), d, target)
    return float(eigenlearning(lam, v, 64)["test_mse"])


EXERCISES: dict[str, Exercise] = {
    "two_monomials_mse": Exercise(
        reference=_two_monomials_mse,
        rtol=1e-3,
        hint="Pass both Walsh coefficients to hypercube_eigensystem as one dict, then eigenlearning "
             "at n = 64 with ridge 0; test_mse is the population error.",
    ),
}
