"""Regression targets computed by a random MLP "teacher": a smooth, nonlinear, learnable task.

Gaussian inputs x ~ N(0, I_d) go through a fixed randomly initialised network
(:class:`lmlib.models.MLP`); its outputs, standardised to unit variance, are the
targets. A larger ``init_scale`` makes the teacher more nonlinear (its tanh units
saturate more), so a student has more to learn; in the edge-of-stability chapter
this is what makes the sharpness rise during training (progressive sharpening).
"""
from __future__ import annotations

from typing import Sequence

import torch

from lmlib._checks import check_int, check_real

__all__ = ["mlp_teacher"]


def mlp_teacher(
    n: int,
    d: int,
    d_out: int = 1,
    *,
    hidden: Sequence[int] = (100,),
    activation: str = "tanh",
    init_scale: float = 1.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` Gaussian inputs in R^d and the standardised outputs of a random MLP teacher.

    Args:
        n: number of examples.
        d: input dimension.
        d_out: number of outputs of the teacher (target dimension).
        hidden: the teacher's hidden widths.
        activation: the teacher's nonlinearity (any of :class:`lmlib.models.MLP`'s).
        init_scale: multiplies the teacher's weight standard deviations (1/√fan_in each).
        seed: seed of both the inputs and the teacher's weights.
        dtype: floating dtype of the returned tensors.

    Returns:
        ``(x, y)``: inputs ``[n, d]`` and targets ``[n, d_out]``, the targets centred and
        scaled so that their overall standard deviation is 1 (a fixed loss scale whatever
        ``init_scale`` is).

    Raises:
        ValueError: if ``n < 2``, a dimension is < 1 or ``init_scale`` <= 0.
    """
    from lmlib.models import MLP  # models import data helpers elsewhere; keep the import local

    n = check_int("n", n, minimum=2)
    d = check_int("d", d, minimum=1)
    d_out = check_int("d_out", d_out, minimum=1)
    init_scale = check_real("init_scale", init_scale, positive=True)
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
        raise TypeError(f"hidden must be a sequence of ints, got {type(hidden).__name__}")
    seed = check_int("seed", seed, minimum=0)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    teacher = MLP((d, *hidden, d_out), activation, init_scale=init_scale, seed=seed + 1).double()
    with torch.no_grad():
        y = teacher(x)
    y = y - y.mean(0)
    y = y / y.std()
    return x.to(dtype), y.to(dtype)
