"""A small smooth regression task, for experiments that follow a trajectory closely.

The chapters on conservation laws and on gradient flow need a problem small enough
to integrate an ODE on, with a target the network can fit but not instantly: a
smooth function of two Gaussian inputs.
"""
from __future__ import annotations

import torch

from lmlib._checks import check_int

__all__ = ["sine_regression"]


def sine_regression(n: int = 64, *, seed: int = 0,
                    dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` inputs x ~ N(0, I₂) with targets y = sin(2·x₁) + ½·x₂, shape ``[n, 1]``.

    Args:
        n: number of examples.
        seed: seed of the input draw.
        dtype: floating dtype of both tensors (float64 for trajectory-level comparisons).

    Returns:
        ``(x, y)`` on the CPU: ``x`` is ``[n, 2]``, ``y`` is ``[n, 1]``.

    Raises:
        ValueError: if ``n < 1``.
        TypeError: if ``dtype`` is not a floating dtype.
    """
    n = check_int("n", n, minimum=1)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch dtype, got {dtype!r}")
    gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    x = torch.randn(n, 2, generator=gen, dtype=torch.float64)
    y = torch.sin(2.0 * x[:, :1]) + 0.5 * x[:, 1:]
    return x.to(dtype), y.to(dtype)
