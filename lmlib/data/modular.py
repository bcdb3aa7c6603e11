"""Modular arithmetic tables: the algorithmic data sets on which networks grok.

All p² pairs (a, b) with label (a + b) mod p, split at random into a training
set and a held-out test set (Power et al. 2022). Inputs are the two operands as
integer ids; a model embeds them itself (see :class:`lmlib.models.ModularMLP`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from lmlib._checks import check_int, check_real

__all__ = ["ModularData", "modular_addition"]


@dataclass
class ModularData:
    """A train/test split of the addition table mod p.

    Attributes:
        p: the modulus.
        x_train, x_test: ``[n, 2]`` int64 operand pairs (a, b).
        y_train, y_test: ``[n]`` int64 labels (a + b) mod p.
    """

    p: int
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    def to(self, device) -> "ModularData":
        """The same split on ``device``."""
        return ModularData(self.p, *(t.to(device) for t in (self.x_train, self.y_train, self.x_test, self.y_test)))


def modular_addition(p: int, *, train_fraction: float = 0.4, seed: int = 0) -> ModularData:
    """Every pair (a, b) ∈ Z_p², labelled (a + b) mod p, split at random into train and test.

    Args:
        p: the modulus (≥ 2; a prime such as 59 or 97 in the book).
        train_fraction: share of the p² pairs in the training set, in (0, 1).
        seed: seed of the split.

    Returns:
        A :class:`ModularData` with ``round(train_fraction · p²)`` training pairs.

    Raises:
        ValueError: if ``train_fraction`` leaves the train or test set empty.
    """
    p = check_int("p", p, minimum=2)
    frac = check_real("train_fraction", train_fraction, positive=True)
    n_train = round(frac * p * p)
    if not 0 < n_train < p * p:
        raise ValueError(f"train_fraction={train_fraction} leaves the train or test set empty for p={p}")
    gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    x = torch.stack([a.reshape(-1), b.reshape(-1)], dim=1)
    y = (x[:, 0] + x[:, 1]) % p
    perm = torch.randperm(p * p, generator=gen)
    tr, te = perm[:n_train], perm[n_train:]
    return ModularData(p, x[tr], y[tr], x[te], y[te])
