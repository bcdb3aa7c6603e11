"""Answer checks for the exercises of ``chapters/03_laws/conservation.md``."""
from __future__ import annotations

import numpy as np

from lmlib.exercises import Exercise
from lmlib.theory import conservation


def _sources(k: int, units: int, seed: int) -> np.ndarray:
    # Fixed, arbitrary sources: the law must hold whatever the gradients were.
    return np.random.default_rng(seed).normal(size=(k, units))


EXERCISES: dict[str, Exercise] = {
    "gd_law": Exercise(
        reference=lambda q0, sources, lr, weight_decay: conservation.gd_charges(q0, sources, lr, weight_decay),
        inputs=(
            dict(q0=np.array([1.0, -0.5, 2.0]), sources=_sources(20, 3, 1), lr=0.1, weight_decay=0.0),
            dict(q0=np.array([0.3, 4.0]), sources=_sources(50, 2, 2), lr=0.05, weight_decay=0.2),
            dict(q0=np.array([[1.0, 0.2], [0.2, -1.0]]), sources=_sources(10, 2, 3)[:, :, None].repeat(2, 2),
                 lr=0.3, weight_decay=1.0),
        ),
        rtol=1e-9,
        atol=1e-12,
        hint="Expand ‖(1 − ηλ)θ − ηg‖² for the incoming and the outgoing block; the cross terms cancel. "
             "Return K + 1 rows, starting with q0.",
    ),
    "half_life": Exercise(
        reference=lambda: conservation.charge_half_life(0.1, 5e-4),
        rtol=1e-3,
        hint="Without the source, each step multiplies Q by (1 − ηλ)²; solve (1 − ηλ)^(2k) = 1/2 for k.",
    ),
}
