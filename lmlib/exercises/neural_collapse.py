"""Answer checks for the exercises of ``chapters/03_laws/neural_collapse.md``."""
from __future__ import annotations

import torch

from lmlib.data.mixtures import gaussian_mixture
from lmlib.exercises import Exercise
from lmlib.metrics import neural_collapse
from lmlib.theory.collapse import etf_cosine


def _inputs(n_per_class: int, n_classes: int, dim: int, separation: float, seed: int) -> dict:
    x, y = gaussian_mixture(n_per_class, n_classes, dim, separation=separation, seed=seed, dtype=torch.float64)
    return dict(features=x.numpy(), labels=y.numpy())


EXERCISES: dict[str, Exercise] = {
    "etf_cosine": Exercise(
        reference=lambda: etf_cosine(10),
        rtol=1e-3,
        hint="Ten unit vectors that sum to zero: expand ‖v_1 + … + v_10‖² = 0 into norms and inner products.",
    ),
    "nc1": Exercise(
        reference=lambda features, labels: neural_collapse(features, labels)["nc1"],
        inputs=(
            _inputs(6, 3, 4, 1.0, 1),
            _inputs(5, 4, 8, 3.0, 2),
            _inputs(4, 5, 3, 0.5, 3),
        ),
        rtol=1e-6,
        hint="Centre the class means by their average; Σ_B has rank C − 1, so use a pseudo-inverse "
             "(numpy.linalg.pinv), and divide the trace by the number of classes.",
    ),
}
