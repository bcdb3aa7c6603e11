"""Deep linear networks: linear functions with non-convex, solvable training dynamics."""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from lmlib._checks import check_int, check_real, check_tensor

__all__ = ["DeepLinear"]


class DeepLinear(nn.Module):
    """A deep linear network f(x) = W_L ⋯ W_2 W_1 x (no biases, no nonlinearity).

    The function is linear in x, but the loss is not convex in the weights, and
    gradient descent from a small initialisation learns the target's singular
    modes one at a time (Saxe, McClelland & Ganguli 2014).

    Args:
        dims: layer widths ``(d_in, h_1, ..., d_out)``; at least two entries.
        init_scale: standard deviation of each weight entry times ``sqrt(fan_in)``
            for the default random init; ``0`` starts at exactly zero (a saddle:
            call :meth:`init_balanced_` instead).
        seed: seed for the random initialisation.

    Example:
        >>> net = DeepLinear((8, 16, 8), init_scale=1e-3, seed=0)
        >>> net(torch.randn(5, 8)).shape
        torch.Size([5, 8])
    """

    def __init__(self, dims: Sequence[int], init_scale: float = 1.0, *, seed: int = 0) -> None:
        super().__init__()
        if isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence):
            raise TypeError(f"dims must be a sequence of ints, got {type(dims).__name__}")
        if len(dims) < 2:
            raise ValueError(f"dims must have at least 2 entries (d_in, d_out), got {list(dims)}")
        dims = [check_int(f"dims[{i}]", d, minimum=1) for i, d in enumerate(dims)]
        init_scale = check_real("init_scale", init_scale, nonnegative=True)
        seed = check_int("seed", seed, minimum=0)
        self.dims = tuple(dims)
        gen = torch.Generator().manual_seed(seed)
        self.layers = nn.ParameterList(
            nn.Parameter(torch.randn(d_out, d_in, generator=gen) * init_scale / math.sqrt(d_in))
            for d_in, d_out in zip(dims[:-1], dims[1:])
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for w in self.layers:
            x = x @ w.T
        return x

    def end_to_end(self) -> torch.Tensor:
        """The product W_L ⋯ W_1, shape ``[d_out, d_in]``."""
        total = self.layers[0]
        for w in self.layers[1:]:
            total = w @ total
        return total

    @torch.no_grad()
    def init_balanced_(self, u0: float | Sequence[float], left: torch.Tensor, right: torch.Tensor,
                       *, seed: int = 0) -> "DeepLinear":
        """Decoupled, balanced initialisation (in place): every layer aligned with the target.

        Sets the end-to-end map to ``Σ_i u0_i · left[:, i] right[:, i]ᵀ`` with every
        layer carrying ``u0_i^(1/L)`` of each mode and hidden directions given by a
        random orthonormal basis. From here the modes evolve independently and
        each follows Saxe et al.'s closed form exactly under gradient flow.

        Args:
            u0: initial strength of every mode (a float), or one per mode.
            left: ``[d_out, r]`` orthonormal columns (the target's left singular vectors).
            right: ``[d_in, r]`` orthonormal columns (its right singular vectors).
            seed: seed for the hidden-layer basis.

        Raises:
            ValueError: on shape mismatch, a hidden layer narrower than r, or u0 <= 0.
        """
        left = check_tensor("left", left, ndim=2, floating=True)
        right = check_tensor("right", right, ndim=2, floating=True)
        d_in, d_out, L = self.dims[0], self.dims[-1], len(self.layers)
        r = left.shape[1]
        if left.shape[0] != d_out or right.shape != (d_in, r):
            raise ValueError(
                f"left must be [d_out={d_out}, r] and right [d_in={d_in}, r] with the same r; "
                f"got {tuple(left.shape)} and {tuple(right.shape)}")
        if min(self.dims[1:-1], default=r) < r:
            raise ValueError(f"every hidden width must be >= the number of modes r={r}, got dims {self.dims}")
        u0 = torch.as_tensor(u0, dtype=torch.float64).flatten()
        if u0.numel() == 1:
            u0 = u0.repeat(r)
        if u0.numel() != r or not bool((u0 > 0).all()):
            raise ValueError(f"u0 must be positive, a float or one value per mode ({r}), got {u0.tolist()}")
        gen = torch.Generator().manual_seed(seed)
        # Hidden bases: orthonormal r-frames, one per hidden layer.
        bases = [right.double()]
        for h in self.dims[1:-1]:
            q, _ = torch.linalg.qr(torch.randn(h, r, generator=gen, dtype=torch.float64))
            bases.append(q)
        bases.append(left.double())
        per_layer = u0 ** (1.0 / L)
        for l, w in enumerate(self.layers):
            w.copy_((bases[l + 1] * per_layer) @ bases[l].T)
        return self
