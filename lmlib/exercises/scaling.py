"""Answer checks for the exercises of ``chapters/03_laws/scaling.md``."""
from __future__ import annotations

from lmlib.exercises import Exercise
from lmlib.theory import scaling

EXERCISES: dict[str, Exercise] = {
    "frontier_exponent": Exercise(
        reference=lambda: scaling.compute_exponent(2.5, 3.0),
        rtol=1e-3,
        hint="Balance the parameter term N^-(β−1) against the time term τ^-((β−1)/α) at fixed C = N·τ.",
    ),
    "additive_frontier": Exercise(
        reference=lambda p, q: scaling.additive_frontier(p, q),
        inputs=(dict(p=1.0, q=2 / 3), dict(p=2.0, q=1.5), dict(p=0.5, q=0.25)),
        rtol=1e-6,
        hint="Write τ = C/N, set the derivative in N to zero, and read off how N* and L* scale with C. "
             "Return the pair (c, n) with L* ∝ C^-c and N* ∝ C^n.",
    ),
}
