"""Diagonal linear networks: a linear predictor whose weights are a difference of squares."""
from __future__ import annotations

import torch
from torch import nn

from lmlib._checks import check_int, check_real, check_tensor

__all__ = ["DiagonalLinear"]


class DiagonalLinear(nn.Module):
    """f(x) = ⟨w, x⟩ with w = u ⊙ u − v ⊙ v, started at u = v = α (Woodworth et al. 2020).

    The function class is every linear map, but gradient descent on (u, v) is not gradient
    descent on w: each coordinate moves at a speed proportional to u_i² + v_i², so the
    initialisation scale α decides which interpolating w training finds — the minimiser of the
    potential Q_α (:func:`lmlib.theory.diagonal.implicit_bias_solution`), close to the minimum
    ℓ2 norm solution for large α and to the minimum ℓ1 norm solution for small α.

    Args:
        d: input dimension.
        alpha: initialisation scale α > 0 (u = v = α, so w starts at exactly 0).

    Example:
        >>> net = DiagonalLinear(100, alpha=1e-2)
        >>> float(net.w.abs().max())
        0.0
    """

    def __init__(self, d: int, alpha: float = 1.0) -> None:
        super().__init__()
        d = check_int("d", d, minimum=1)
        self.alpha = check_real("alpha", alpha, positive=True)
        self.u = nn.Parameter(torch.full((d,), self.alpha))
        self.v = nn.Parameter(torch.full((d,), self.alpha))

    @property
    def w(self) -> torch.Tensor:
        """The end-to-end weights u² − v², shape ``[d]``."""
        return self.u * self.u - self.v * self.v

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_tensor("x", x, ndim=2)
        if x.shape[1] != self.u.shape[0]:
            raise ValueError(f"x must have d = {self.u.shape[0]} columns, got shape {tuple(x.shape)}")
        return x @ self.w
