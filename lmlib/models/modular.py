"""The one-hidden-layer network of the grokking experiments: embed two tokens, concatenate, MLP.

Each operand a, b ∈ Z_p is looked up in one shared embedding table E (p × d_embed);
the two vectors are concatenated and passed through a ReLU layer and a linear
readout to p logits. The embedding is where the Fourier structure of a grokked
network lives (Nanda et al. 2023), so it is a plain parameter, ``model.embed``.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from lmlib._checks import check_int

__all__ = ["ModularMLP"]


class ModularMLP(nn.Module):
    """``logits = W₂ · ReLU(W₁ · [E[a], E[b]] + b₁) + b₂`` for inputs ``x = [[a, b], …]``.

    Args:
        p: number of tokens (the modulus) and of output classes.
        d_embed: embedding width per operand (the hidden layer sees ``2 · d_embed``).
        hidden: width of the ReLU layer.
        seed: seed of the initialisation (embedding N(0, 1/d_embed), linear layers
            N(0, 1/fan_in), biases 0).

    Raises:
        ValueError: if a size is not a positive int.
    """

    def __init__(self, p: int, *, d_embed: int = 128, hidden: int = 256, seed: int = 0) -> None:
        super().__init__()
        self.p = check_int("p", p, minimum=2)
        d_embed = check_int("d_embed", d_embed, minimum=1)
        hidden = check_int("hidden", hidden, minimum=1)
        gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))

        def normal(*shape: int, std: float) -> nn.Parameter:
            return nn.Parameter(torch.randn(*shape, generator=gen) * std)

        self.embed = normal(p, d_embed, std=1.0 / math.sqrt(d_embed))
        self.w1 = normal(hidden, 2 * d_embed, std=1.0 / math.sqrt(2 * d_embed))
        self.b1 = nn.Parameter(torch.zeros(hidden))
        self.w2 = normal(p, hidden, std=1.0 / math.sqrt(hidden))
        self.b2 = nn.Parameter(torch.zeros(p))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[n, p]`` for integer operand pairs ``x`` of shape ``[n, 2]``."""
        if x.ndim != 2 or x.shape[-1] != 2:
            raise ValueError(f"x must have shape [n, 2] (operand ids), got {tuple(x.shape)}")
        h = self.embed[x].flatten(1)                  # [n, 2·d_embed]: E[a] then E[b]
        return torch.relu(h @ self.w1.T + self.b1) @ self.w2.T + self.b2
