"""Two-layer networks for the limits chapters: the mean-field network and the mirrored start.

* :class:`MeanFieldNet` -- f(x) = (1/m) Σ_j a_j relu(w_j·x + b_j), the mean-field (μP-like)
  scaling of a two-layer network (Mei et al. 2018; Chizat & Bach 2018). With a learning rate
  proportional to m every unit moves by order one however wide the network: features are
  learned, which is what lets it beat kernels on staircase targets (Abbe et al. 2022).
* :func:`mirror_` -- the "doubling trick" of Chizat et al. (2019): copy the first half of the
  hidden units and flip the sign of their output weights, so the network's output at
  initialisation is zero (up to round-off). Lazy training is then kernel regression from f₀ = 0, with no
  random initial function to fit around.
"""
from __future__ import annotations

import torch
from torch import nn

from lmlib._checks import check_int, check_real

__all__ = ["MeanFieldNet", "mirror_"]


class MeanFieldNet(nn.Module):
    """f(x) = (1/m) Σ_j a_j relu(w_j·x + b_j) with w ~ N(0, σ²I/d), b ~ N(0, σ_b²), a ~ N(0, 1).

    Args:
        d: input dimension.
        m: number of hidden units.
        bias: whether the hidden units have the (trained) bias b.
        init_scale: σ, the standard deviation of w·x for |x|² = d.
        bias_scale: σ_b, the standard deviation of b.
        seed: seed of the initialisation.
        dtype: parameter dtype (float64 for the staircase's small losses).

    Attributes:
        hidden: ``nn.Linear(d, m)`` holding w (weight) and b (bias).
        readout: ``nn.Linear(m, 1, bias=False)`` holding a.
    """

    def __init__(self, d: int, m: int, *, bias: bool = True, init_scale: float = 1.0,
                 bias_scale: float = 1.0, seed: int = 0, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        d = check_int("d", d, minimum=1)
        self.m = check_int("m", m, minimum=1)
        init_scale = check_real("init_scale", init_scale, nonnegative=True)
        bias_scale = check_real("bias_scale", bias_scale, nonnegative=True)
        gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
        self.hidden = nn.Linear(d, self.m, bias=bias, dtype=dtype)
        self.readout = nn.Linear(self.m, 1, bias=False, dtype=dtype)
        with torch.no_grad():
            self.hidden.weight.copy_(torch.randn(self.m, d, generator=gen, dtype=torch.float64)
                                     * init_scale / d**0.5)
            if bias:
                self.hidden.bias.copy_(torch.randn(self.m, generator=gen, dtype=torch.float64) * bias_scale)
            self.readout.weight.copy_(torch.randn(1, self.m, generator=gen, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs ``[n]`` for inputs ``[n, d]``."""
        return self.readout(torch.relu(self.hidden(x)))[:, 0] / self.m


@torch.no_grad()
def mirror_(model: nn.Module) -> nn.Module:
    """Pair the hidden units of a two-layer network so that its output at init is zero (to round-off).

    Units m/2 … m−1 get the incoming weights (and biases) of units 0 … m/2−1 and the negated
    outgoing weights, so each pair contributes a·σ(w·x) − a·σ(w·x) = 0. Works on any module
    with exactly two ``nn.Linear`` layers (e.g. ``MLP((d, m, k))`` or :class:`MeanFieldNet`)
    whose second layer has no bias or a zero one.

    Args:
        model: the network, modified in place.

    Returns:
        ``model``.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``.
        ValueError: if it does not have two linear layers, the width is odd, or the readout
            has a nonzero bias (which mirroring cannot cancel).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    linears = [mod for mod in model.modules() if isinstance(mod, nn.Linear)]
    if len(linears) != 2:
        raise ValueError(f"model must have exactly two nn.Linear layers, found {len(linears)}")
    first, second = linears
    m = first.out_features
    if m % 2:
        raise ValueError(f"the hidden width must be even to pair units, got {m}")
    if second.bias is not None and bool(second.bias.ne(0).any()):
        raise ValueError("the second layer has a nonzero bias, which mirroring cannot cancel")
    h = m // 2
    first.weight[h:] = first.weight[:h]
    if first.bias is not None:
        first.bias[h:] = first.bias[:h]
    second.weight[:, h:] = -second.weight[:, :h]
    return model
