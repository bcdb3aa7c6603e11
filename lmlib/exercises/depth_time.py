"""Answer checks for the exercises of ``chapters/02_limits/depth_time.md``."""
from __future__ import annotations

from lmlib.exercises import Exercise
from lmlib.theory import discretization as disc

EXERCISES: dict[str, Exercise] = {
    "modified_rate": Exercise(
        reference=lambda h, lr: disc.quadratic_modified_rate(h, lr),
        inputs=(dict(h=1.0, lr=0.1), dict(h=3.0, lr=0.05), dict(h=0.2, lr=1.0)),
        rtol=1e-9,
        hint="Compute ∇L = hθ, then L̃ = L + (η/4)·(hθ)², and read off the coefficient of θ in −∇L̃.",
    ),
    "sde_depth": Exercise(
        reference=lambda: disc.depth_for_error(0.036, 32, 0.005, "sde"),
        rtol=1e-3,
        hint="The pathwise error of the γ = ½ family falls as L^(−½): invert that power law.",
    ),
}
