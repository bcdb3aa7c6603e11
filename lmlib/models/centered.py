"""A network minus its own initial function: f(x; θ) − f(x; θ₀).

Kernel theory (eigenlearning, kernel ridge regression) predicts a learner that starts from the
zero function. A randomly initialised network starts from a random function f(·; θ₀) instead, and
in the lazy regime that initial function is carried to the end of training: the trained network is
f₀ + K(y − f₀(X)) rather than K y. Subtracting a frozen copy of the initial network removes f₀
without changing the gradients, so the tangent kernel is exactly the wrapped network's (Chizat,
Oyallon & Bach 2019 use the same device, and the "doubling trick" of antisymmetric inits is the
other common choice).
"""
from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["Centered"]


class Centered(nn.Module):
    """Wrap ``model`` so that its output starts at exactly zero.

    ``Centered(model)(x) = model(x) − init(x)``, where ``init`` is a frozen copy of ``model`` taken
    at construction. Only ``model``'s parameters are trainable, so :func:`lmlib.ntk.empirical_ntk`
    of the wrapper equals that of ``model``, and the wrapper trains with
    :func:`lmlib.train.train` and :func:`lmlib.ensemble.train_ensemble` like any module.

    Args:
        model: the network to centre (copied once; the original is used, not cloned, for training).

    Example:
        >>> net = Centered(MLP((8, 256, 1), parameterization="ntk", seed=1))
        >>> float(net(torch.randn(4, 8)).abs().max())
        0.0

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.init = copy.deepcopy(model)
        for p in self.init.parameters():
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) - self.init(x)
