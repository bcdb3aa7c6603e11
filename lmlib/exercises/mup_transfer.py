"""Answer checks for the exercises of ``chapters/04_hyperparameters/mup_transfer.md``."""
from __future__ import annotations

import numpy as np

from lmlib.exercises import Exercise
from lmlib.theory import width

EXERCISES: dict[str, Exercise] = {
    "sp_adam_lr_power": Exercise(
        # e₂ = 1 − a for SP with Adam and η ∝ n^(−a): the hidden change is finite at a = e₂(a = 0).
        reference=lambda: width.update_exponents("sp", optimizer="adam")[1],
        atol=1e-9,
        hint="Adam's first step moves every entry of ΔW₂ by η; count the coherent terms in ΔW₂·z₁ "
             "and ask which power of n in η cancels them.",
    ),
    "vertex": Exercise(
        reference=lambda u, v: float(-np.polyfit(u, v, 2)[1] / (2 * np.polyfit(u, v, 2)[0])),
        inputs=(
            dict(u=np.array([-8.0, -7.5, -7.0, -6.5, -6.0]), v=np.array([0.9, 0.4, 0.2, 0.3, 0.7])),
            dict(u=np.array([-3.0, -2.0, -1.0, 0.0, 1.0]), v=np.array([2.0, 1.1, 0.8, 1.0, 1.9])),
            dict(u=np.array([1.0, 2.0, 3.0]), v=np.array([5.0, 3.0, 4.0])),
        ),
        rtol=1e-6,
        hint="Fit v ≈ a·u² + b·u + c by least squares (all points, equal weights) and return the "
             "vertex of the parabola, not the grid point with the smallest v.",
    ),
}
