"""Gaussian mixtures: labelled classes whose difficulty is one knob (the separation)."""
from __future__ import annotations

import math

import torch

from lmlib._checks import check_int, check_real

__all__ = ["gaussian_mixture"]


def gaussian_mixture(
    n_per_class: int,
    n_classes: int,
    dim: int,
    *,
    separation: float = 1.5,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Balanced isotropic Gaussian classes around random centres.

    Class centres are μ_c ~ N(0, separation²·I/dim) and examples x = μ_{y} + ε with
    ε ~ N(0, I/dim), so both the typical centre norm (``separation``) and the noise
    norm (1) stay fixed as ``dim`` changes: ``separation`` is a signal-to-noise ratio.
    For ``dim`` ≫ ``n_classes`` the classes are nearly linearly separable once
    separation ≳ 1, while the raw inputs are still far from collapsed.

    Args:
        n_per_class: examples per class (≥ 1).
        n_classes: C ≥ 2.
        dim: input dimension (≥ 1).
        separation: norm scale of the centres relative to the noise (≥ 0).
        seed: seed of the draw (centres and noise).
        dtype: floating dtype of the inputs.

    Returns:
        ``(x, labels)``: inputs ``[C·n_per_class, dim]`` and integer labels
        ``[C·n_per_class]``, ordered class by class (0, 0, …, 1, 1, …).

    Raises:
        TypeError, ValueError: for arguments of the wrong type or range.
    """
    n_per_class = check_int("n_per_class", n_per_class, minimum=1)
    n_classes = check_int("n_classes", n_classes, minimum=2)
    dim = check_int("dim", dim, minimum=1)
    separation = check_real("separation", separation, nonnegative=True)
    gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    scale = 1.0 / math.sqrt(dim)
    centres = torch.randn(n_classes, dim, generator=gen, dtype=torch.float64) * separation * scale
    labels = torch.arange(n_classes).repeat_interleave(n_per_class)
    x = centres[labels] + torch.randn(labels.numel(), dim, generator=gen, dtype=torch.float64) * scale
    return x.to(dtype), labels
