"""Answer checks for the exercises of ``chapters/06_interpretability/induction_heads.md``."""
from __future__ import annotations

from lmlib.exercises import Exercise
from lmlib.theory import induction

EXERCISES: dict[str, Exercise] = {
    "chance_score": Exercise(
        reference=lambda: induction.chance_induction_score(4, 10),
        rtol=5e-3,
        hint="Uniform attention gives 1/(q + 1) at query q; sum over q = L … 2L − 2 and over L, "
             "then divide by the total number of queries, not the number of lengths.",
    ),
}
