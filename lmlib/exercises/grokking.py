"""Answer checks for the exercises of ``chapters/06_interpretability/grokking.md``."""
from __future__ import annotations

import numpy as np

from lmlib import fourier
from lmlib.exercises import Exercise
from lmlib.theory import grokking

_rng = np.random.default_rng(20230101)

EXERCISES: dict[str, Exercise] = {
    "half_life": Exercise(
        reference=lambda: grokking.weight_decay_half_life(1e-3, 1.0),
        rtol=1e-3,
        hint="Without a gradient AdamW multiplies each weight by (1 − η·λ) per step; "
             "solve (1 − ηλ)^t = 1/2 for t.",
    ),
    "frequency_power": Exercise(
        reference=lambda weights: fourier.frequency_power(weights),
        inputs=(
            dict(weights=_rng.standard_normal((7, 3))),
            dict(weights=np.cos(2 * np.pi * 3 * np.arange(11)[:, None] / 11) @ _rng.standard_normal((1, 4))),
            dict(weights=_rng.standard_normal((13, 5)) + 1.0),
        ),
        rtol=1e-6,
        atol=1e-9,
        hint="Project each column on the orthonormal basis 1/√p, √(2/p)·cos(2πka/p), √(2/p)·sin(2πka/p); "
             "return the constant part first, then cos² + sin² summed over columns for k = 1 … (p − 1)/2.",
    ),
}
