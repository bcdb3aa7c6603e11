"""Answer checks for the exercises of ``chapters/04_hyperparameters/batch_noise.md``."""
from __future__ import annotations

import numpy as np

from lmlib.exercises import Exercise
from lmlib.noise import critical_batch_curve, simple_noise_scale


def _grads(n: int, p: int, shift: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, p)) + shift


EXERCISES: dict[str, Exercise] = {
    "steps_at_b10": Exercise(
        reference=lambda: float(critical_batch_curve(10, 100.0, 25.0)),
        rtol=1e-3,
        hint="Put B = 10 into S(B) = S_min(1 + B_crit/B).",
    ),
    "b_simple": Exercise(
        reference=lambda grads: simple_noise_scale(grads),
        inputs=(dict(grads=_grads(50, 8, 0.3, 1)), dict(grads=_grads(200, 3, 1.0, 2)),
                dict(grads=_grads(7, 20, -0.1, 3))),
        rtol=1e-8,
        hint="tr Σ is the sum over coordinates of the per-coordinate variance (divide by n − 1); "
             "|G|² is the squared norm of the mean row.",
    ),
}
