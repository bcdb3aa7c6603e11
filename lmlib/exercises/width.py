"""Answer checks for the exercises of ``chapters/02_limits/width.md``."""
from __future__ import annotations

from lmlib.exercises import Exercise
from lmlib.theory import width

EXERCISES: dict[str, Exercise] = {
    "sp_small_lr": Exercise(
        reference=lambda: list(width.update_exponents("sp", lr_exponent=1.0)),
        atol=1e-9,
        hint="Start from SP's exponents and add 1 to every layer's learning-rate exponent r_l; "
             "then redo the three maxima of the counting rule.",
    ),
    "sp_adam_output": Exercise(
        reference=lambda: width.update_exponents("sp", optimizer="adam")[2],
        atol=1e-9,
        hint="Adam's first step is lr·sign(g): the entries of ΔW carry no gradient factor. Count the "
             "coherent terms in W₃·Δz₂ as well as in ΔW₃·z₂.",
    ),
    "exponents_fn": Exercise(
        reference=lambda s, r1, r2, r3: list(width.first_step_exponents(s, (r1, r2, r3))),
        inputs=(
            dict(s=0.5, r1=0.0, r2=0.0, r3=0.0),
            dict(s=1.0, r1=-1.0, r2=0.0, r3=1.0),
            dict(s=0.5, r1=0.0, r2=1.0, r3=1.0),
            dict(s=0.75, r1=-0.5, r2=0.25, r3=0.5),
        ),
        atol=1e-9,
        hint="Write q_l = r_l + (gradient-entry exponent of layer l); Δh₁ ~ n^(−q₁), "
             "Δh₂ ~ n^max(1 − q₂, e₁), Δf ~ n^max(1 − q₃, 1 − s + e₂). Return a list [e1, e2, ef].",
    ),
}
