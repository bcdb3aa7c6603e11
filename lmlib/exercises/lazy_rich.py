"""Answer checks for the exercises of ``chapters/02_limits/lazy_rich.md``."""
from __future__ import annotations

import math

import torch

from lmlib.exercises import Exercise
from lmlib.theory.lazy import linearized_gd


def _alignment_std(m: int = 256, d: int = 16, r: int = 2) -> float:
    # A(W) ~ Beta(mr/2, m(d−r)/2): variance p(1−p)/(md/2 + 1) with p = r/d.
    p = r / d
    return math.sqrt(p * (1 - p) / (m * d / 2 + 1))


def _kernel_inputs(n: int, n_test: int, seed: int) -> dict:
    # A positive-definite kernel from random features, so the check does not depend on a network.
    gen = torch.Generator().manual_seed(seed)
    phi = torch.randn(n + n_test, 3 * n, generator=gen, dtype=torch.float64) / math.sqrt(3 * n)
    k = phi @ phi.T
    y = torch.randn(n, generator=gen, dtype=torch.float64)
    return dict(K=k[:n, :n].clone(), Kx=k[n:, :n].clone(), y=y)


EXERCISES: dict[str, Exercise] = {
    "alignment_std": Exercise(
        reference=_alignment_std,
        rtol=0.05,
        hint="By rotation invariance A(W) = X/(X + Y) with X, Y independent chi-square variables; "
             "what distribution is that, and what is its variance?",
    ),
    "lazy_predict": Exercise(
        reference=lambda K, Kx, y, lr, steps: linearized_gd(K, Kx, y, lr=lr, steps=steps).numpy(),
        inputs=(
            dict(**_kernel_inputs(20, 7, 1), lr=1.0, steps=50),
            dict(**_kernel_inputs(30, 5, 2), lr=0.3, steps=1),
            dict(**_kernel_inputs(16, 4, 3), lr=2.0, steps=400),
        ),
        rtol=1e-6,
        atol=1e-9,
        hint="The loss is ½·mean over the n examples, so one step multiplies the residual by "
             "(I − (lr/n)·K); start from f = 0 and sum the geometric series in K's eigenbasis.",
    ),
}
