"""Answer checks for the exercises of ``chapters/01_solvable/deep_linear.md``."""
from __future__ import annotations

import math

from lmlib.exercises import Exercise
from lmlib.theory import saxe

EXERCISES: dict[str, Exercise] = {
    "halftime_ratio": Exercise(
        reference=lambda: float(saxe.half_time(0.5, 1e-3, 0.01) / saxe.half_time(3.0, 1e-3, 0.01)),
        rtol=5e-3,
        hint="Use τ½ = ln(s/u0 − 1)/(2s) for each mode; the learning rate cancels in the ratio.",
    ),
    "plateau_u0": Exercise(
        reference=lambda: float(3.0 / (1.0 + math.exp(2.0 * 3.0 * 0.01 * 200.0))),
        rtol=1e-2,
        hint="Set τ½ = η·200 for s = 3 and solve ln(s/u0 − 1) = 2sτ½ for u0.",
    ),
    "discrete_map": Exercise(
        reference=lambda s, u0, lr, steps: saxe.mode_strength_discrete(steps, s, u0, lr),
        inputs=(
            dict(s=3.0, u0=1e-3, lr=0.01, steps=400),
            dict(s=0.5, u0=1e-2, lr=0.05, steps=300),
            dict(s=2.0, u0=0.3, lr=0.2, steps=50),
        ),
        rtol=1e-6,
        atol=1e-9,
        hint="One GD step moves each layer's share a = √u by η·a(s − a²). "
             "Return all strengths, from step 0 to step `steps` inclusive.",
    ),
}
