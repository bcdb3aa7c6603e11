"""Answer checks for the exercises of ``chapters/03_laws/edge_of_stability.md``."""
from __future__ import annotations

from lmlib.exercises import Exercise
from lmlib.theory import stability

EXERCISES: dict[str, Exercise] = {
    "max_stable_lr": Exercise(
        reference=lambda: float(2.0 / max(0.5, 3.0, 12.5, 40.0)),
        rtol=1e-3,
        hint="Each eigendirection is multiplied by (1 − ηλ) per step; which eigenvalue binds first?",
    ),
    "steps_to_tenfold": Exercise(
        reference=lambda: stability.steps_to_grow(1.05 * stability.stability_threshold(0.2), 0.2, 10.0),
        rtol=2e-2,
        hint="Solve |1 − ηλ|^t = 10 for t, with ηλ = 2 × 1.05.",
    ),
    "orbit_amplitude": Exercise(
        reference=lambda lam, c, lr: stability.period_two_amplitude(lam, c, lr),
        inputs=(dict(lam=12.0, c=3.0, lr=0.2), dict(lam=50.0, c=0.5, lr=0.05), dict(lam=2.5, c=10.0, lr=1.0)),
        rtol=1e-6,
        hint="Ask for x_{t+1} = −x_t on the orbit and solve for the amplitude.",
    ),
}
