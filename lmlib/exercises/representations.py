"""Answer checks for the exercises of ``chapters/05_universality/representations.md``."""
from __future__ import annotations

import torch

from lmlib.exercises import Exercise
from lmlib.metrics import linear_cka


def _pair(n: int, d1: int, d2: int, seed: int) -> dict:
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d1, generator=gen, dtype=torch.float64)
    Y = X @ torch.randn(d1, d2, generator=gen, dtype=torch.float64) + torch.randn(n, d2, generator=gen,
                                                                                  dtype=torch.float64)
    return dict(X=X.numpy() + 3.0, Y=Y.numpy())  # an offset, so forgetting to centre is caught


EXERCISES: dict[str, Exercise] = {
    "chance_mknn": Exercise(
        reference=lambda: 10 / (797 - 1),
        rtol=1e-3,
        hint="Each of i's k neighbours in X is one of the n − 1 other points; what is the chance "
             "that it is also one of the k in Y?",
    ),
    "cka": Exercise(
        reference=lambda X, Y: linear_cka(X, Y),
        inputs=(_pair(30, 4, 6, 1), _pair(12, 20, 3, 2), _pair(50, 2, 2, 3)),
        rtol=1e-6,
        hint="Centre each column, then ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F) with Frobenius norms.",
    ),
}
