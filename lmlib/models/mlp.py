"""Fully connected networks with a choice of parameterization (SP, NTK, μP)."""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from lmlib._checks import check_choice, check_int, check_real

__all__ = ["MLP"]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "silu": nn.SiLU, "linear": nn.Identity}


class MLP(nn.Module):
    """A fully connected network with a choice of parameterization.

    ``parameterization``:
      * ``"sp"`` – standard: weights ~ N(0, init_scale²/fan_in), output as is.
      * ``"ntk"`` – NTK parameterization: weights ~ N(0, init_scale²), each layer's
        output multiplied by 1/√fan_in (Jacot et al. 2018), so the network stays near
        its linearisation as width grows.
      * ``"mup"`` – the Maximal Update Parameterization's initialisation (Yang & Hu 2021;
        Yang et al. 2022, Table 3): input and hidden layers as in SP, the last layer with
        variance init_scale²/fan_in². Its per-layer learning rates are the optimizer's
        business: :func:`lmlib.models.mup_param_groups` (``torch.optim`` groups) or
        :func:`lmlib.models.mup_lr_multipliers` (``train_ensemble``'s ``param_lr``).

    Args:
        dims: ``(d_in, h_1, ..., d_out)``.
        activation: ``"relu"``, ``"tanh"``, ``"gelu"``, ``"silu"`` or ``"linear"``.
        parameterization: ``"sp"``, ``"ntk"`` or ``"mup"``.
        bias: whether linear layers have biases (initialised at zero).
        init_scale: multiplies every weight's initial standard deviation.
        seed: seed for the initialisation.
    """

    def __init__(self, dims: Sequence[int], activation: str = "relu", *, parameterization: str = "sp",
                 bias: bool = True, init_scale: float = 1.0, seed: int = 0) -> None:
        super().__init__()
        if isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence) or len(dims) < 2:
            raise ValueError(f"dims must be a sequence of at least 2 ints, got {dims!r}")
        dims = [check_int(f"dims[{i}]", d, minimum=1) for i, d in enumerate(dims)]
        check_choice("activation", activation, list(_ACTIVATIONS))
        self.parameterization = check_choice("parameterization", parameterization, ["sp", "ntk", "mup"])
        init_scale = check_real("init_scale", init_scale, nonnegative=True)
        self.dims = tuple(dims)
        gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
        self.linears = nn.ModuleList(nn.Linear(a, b, bias=bias) for a, b in zip(dims[:-1], dims[1:]))
        self.act = _ACTIVATIONS[activation]()
        self.multipliers: list[float] = []
        with torch.no_grad():
            for i, lin in enumerate(self.linears):
                fan_in = lin.in_features
                last = i == len(self.linears) - 1
                if parameterization == "ntk":
                    std, mult = init_scale, 1.0 / math.sqrt(fan_in)
                elif parameterization == "mup" and last:
                    std, mult = init_scale / fan_in, 1.0
                else:
                    std, mult = init_scale / math.sqrt(fan_in), 1.0
                lin.weight.copy_(torch.randn(lin.weight.shape, generator=gen) * std)
                if lin.bias is not None:
                    lin.bias.zero_()
                self.multipliers.append(mult)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *hidden, last = zip(self.linears, self.multipliers)
        for lin, mult in hidden:
            x = self.act(mult * lin(x))
        lin, mult = last
        return mult * lin(x)
