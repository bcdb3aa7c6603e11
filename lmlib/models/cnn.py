"""A small convolutional network for 8×8 images: a second architecture to compare MLPs with."""
from __future__ import annotations

import math

import torch
from torch import nn

from lmlib._checks import check_int

__all__ = ["SmallCNN"]


class SmallCNN(nn.Module):
    """Two 3×3 convolutions, average pooling, and a two-layer head, for ``side × side`` images.

    ``conv(1→c1) → ReLU → conv(c1→c2) → ReLU → avgpool 2 → linear(→ width) → ReLU → linear(→ out)``.
    Inputs may be flat ``[n, side²]`` (as :func:`lmlib.data.digits` returns them) or
    ``[n, 1, side, side]``. :meth:`features` is the ``width``-dimensional penultimate
    representation, the one representation-similarity chapters compare.

    Weights use PyTorch's default initialisation drawn from a generator seeded with ``seed``
    (Kaiming-uniform with a = √5, as ``nn.Conv2d`` and ``nn.Linear`` do), so two
    networks with equal seeds are identical.

    Args:
        side: image side length (even, ≥ 2); 8 for the digits.
        channels: ``(c1, c2)``, the convolution widths.
        width: size of the penultimate representation.
        out: number of outputs (classes).
        seed: seed of the initialisation.
    """

    def __init__(self, side: int = 8, channels: tuple[int, int] = (16, 32), width: int = 64, out: int = 10,
                 *, seed: int = 0) -> None:
        super().__init__()
        self.side = check_int("side", side, minimum=2)
        if self.side % 2:
            raise ValueError(f"side must be even (the network pools by 2), got {side}")
        if not (isinstance(channels, (tuple, list)) and len(channels) == 2):
            raise ValueError(f"channels must be a pair (c1, c2), got {channels!r}")
        c1, c2 = (check_int(f"channels[{i}]", c, minimum=1) for i, c in enumerate(channels))
        width = check_int("width", width, minimum=1)
        out = check_int("out", out, minimum=1)
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.hidden = nn.Linear(c2 * (self.side // 2) ** 2, width)
        self.readout = nn.Linear(width, out)
        gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
        with torch.no_grad():
            for layer in (self.conv1, self.conv2, self.hidden, self.readout):
                fan_in = layer.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in)  # what kaiming_uniform_(a=√5) and the default bias give
                layer.weight.copy_(torch.rand(layer.weight.shape, generator=gen) * 2 * bound - bound)
                layer.bias.copy_(torch.rand(layer.bias.shape, generator=gen) * 2 * bound - bound)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate representation ``[n, width]``."""
        if x.ndim == 2:
            x = x.reshape(x.shape[0], 1, self.side, self.side)
        h = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        h = nn.functional.avg_pool2d(h, 2).flatten(1)
        return torch.relu(self.hidden(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.features(x))
