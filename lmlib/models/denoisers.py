"""Two small denoisers of different architecture for 8×8 images, both conditioned on the noise level.

Both map a flattened noisy image ``x`` of shape ``[batch, 64]`` and a noise embedding ``c_noise``
of shape ``[batch]`` (EDM uses ``ln(σ)/4``, see :mod:`lmlib.diffusion`) to an output of the same
shape as ``x``. The noise level enters through FiLM: a small embedding network turns ``c_noise``
into a per-channel scale and shift for every hidden layer (Perez et al. 2018). The two families
share nothing else — one sees the image as a vector, the other as a grid with local filters —
which is what the "same noise, same image" experiment needs.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from lmlib._checks import check_int

__all__ = ["FiLMMLP", "TinyUNet"]


class _NoiseEmbedding(nn.Module):
    """Fixed Fourier features of ``c_noise`` followed by a two-layer SiLU network → FiLM parameters."""

    def __init__(self, n_out: int, n_freq: int = 16, hidden: int = 64):
        super().__init__()
        # fixed log-spaced frequencies: c_noise = ln(σ)/4 spans about [-2, 1.5]
        self.register_buffer("freqs", torch.logspace(-1, 1, n_freq) * math.pi)
        self.net = nn.Sequential(nn.Linear(2 * n_freq, hidden), nn.SiLU(), nn.Linear(hidden, n_out))
        nn.init.zeros_(self.net[2].weight)  # start as the identity FiLM (scale 1, shift 0)
        nn.init.zeros_(self.net[2].bias)

    def forward(self, c_noise: torch.Tensor) -> torch.Tensor:
        arg = c_noise[:, None] * self.freqs
        return self.net(torch.cat([arg.sin(), arg.cos()], dim=-1))


class FiLMMLP(nn.Module):
    """MLP ``dim → width × depth → dim`` with SiLU, every hidden layer FiLM-modulated by the noise level.

    Args:
        dim: image size (64 for 8×8 digits).
        width: hidden width.
        depth: number of hidden layers.
        seed: seed of the initialisation.

    Raises:
        TypeError, ValueError: if a size is not a positive int.
    """

    def __init__(self, dim: int = 64, width: int = 256, depth: int = 3, *, seed: int = 0):
        super().__init__()
        dim, width = check_int("dim", dim, minimum=1), check_int("width", width, minimum=1)
        self.depth = check_int("depth", depth, minimum=1)
        self.width = width
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(check_int("seed", seed, minimum=0))
            self.hidden = nn.ModuleList([nn.Linear(dim if i == 0 else width, width) for i in range(depth)])
            self.out = nn.Linear(width, dim)
            self.embed = _NoiseEmbedding(2 * width * depth)

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        film = self.embed(c_noise).view(-1, self.depth, 2, self.width)
        h = x
        for i, layer in enumerate(self.hidden):
            h = F.silu(layer(h) * (1 + film[:, i, 0]) + film[:, i, 1])
        return self.out(h)


class TinyUNet(nn.Module):
    """A two-level U-Net on ``side × side`` single-channel images (8×8 → 4×4 → 8×8 with a skip).

    Each resolution has two 3×3 convolutions; FiLM from the noise level modulates the first
    convolution at each level and the decoder. A U-Net rather than a plain CNN: the skip
    connection lets the output copy fine detail at low noise, and a plain CNN of this size trains
    far more slowly as a denoiser.

    Args:
        side: image side (8 for the digits); must be even.
        channels: channels at full and at half resolution.
        seed: seed of the initialisation.

    Raises:
        TypeError, ValueError: if ``side`` is not a positive even int or ``channels`` is malformed.
    """

    def __init__(self, side: int = 8, channels: tuple[int, int] = (16, 32), *, seed: int = 0):
        super().__init__()
        self.side = check_int("side", side, minimum=2)
        if self.side % 2:
            raise ValueError(f"side must be even, got {side}")
        if len(channels) != 2:
            raise ValueError(f"channels must be a pair (full, half resolution), got {channels!r}")
        c1, c2 = (check_int("channels", c, minimum=1) for c in channels)
        self.c1, self.c2 = c1, c2
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(check_int("seed", seed, minimum=0))
            self.enc1, self.enc2 = nn.Conv2d(1, c1, 3, padding=1), nn.Conv2d(c1, c1, 3, padding=1)
            self.mid1, self.mid2 = nn.Conv2d(c1, c2, 3, padding=1), nn.Conv2d(c2, c2, 3, padding=1)
            self.dec1, self.dec2 = nn.Conv2d(c1 + c2, c1, 3, padding=1), nn.Conv2d(c1, 1, 3, padding=1)
            self.embed = _NoiseEmbedding(2 * (c1 + c2 + c1))

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        f = self.embed(c_noise)[:, :, None, None]
        s1, t1, s2, t2, s3, t3 = torch.split(f, [self.c1, self.c1, self.c2, self.c2, self.c1, self.c1], dim=1)
        h = x.view(b, 1, self.side, self.side)
        h1 = F.silu(self.enc2(F.silu(self.enc1(h) * (1 + s1) + t1)))           # full resolution
        h2 = F.silu(self.mid1(F.avg_pool2d(h1, 2)) * (1 + s2) + t2)             # half resolution
        h2 = F.silu(self.mid2(h2))
        up = F.interpolate(h2, scale_factor=2, mode="nearest")
        h3 = F.silu(self.dec1(torch.cat([h1, up], dim=1)) * (1 + s3) + t3)
        return self.dec2(h3).view(b, -1)
