"""The 8×8 handwritten digits that ship with scikit-learn: real data, available offline."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from lmlib._checks import check_choice, check_int

__all__ = ["Digits", "digits"]


class Digits(NamedTuple):
    """A train/test split of the digits: inputs ``[n, 64]`` and integer labels ``[n]``."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def digits(
    n_train: int | None = None,
    *,
    seed: int = 0,
    scaling: str = "unit",
    center: bool = False,
    dtype: torch.dtype = torch.float32,
) -> Digits:
    """The 1797 scikit-learn digits (8×8 pixels, 16 grey levels, 10 classes), shuffled and split.

    Args:
        n_train: size of the training set (the rest is the test set); ``None`` keeps all 1797
            for training and leaves the test set empty.
        seed: seed of the shuffle.
        scaling: ``"unit"`` divides pixels by 16 (values in [0, 1]); ``"symmetric"`` maps them
            to [-1, 1] (x/8 − 1, as diffusion models want); ``"raw"`` keeps 0…16.
        center: subtract the mean image of the training set from both splits (spectra and
            kernels on uncentred pixels are dominated by the mean).
        dtype: floating dtype of the inputs.

    Raises:
        ImportError: if scikit-learn is missing (``pip install "lmlib[data]"``).
        ValueError: if ``n_train`` is not in [1, 1797].
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - sklearn is in requirements.txt
        raise ImportError('digits() needs scikit-learn: pip install "lmlib[data]"') from err
    check_choice("scaling", scaling, ["unit", "symmetric", "raw"])
    data = load_digits()
    n = len(data.target)
    n_train = n if n_train is None else check_int("n_train", n_train, minimum=1)
    if n_train > n:
        raise ValueError(f"n_train must be <= {n} (the number of digits), got {n_train}")
    order = np.random.default_rng(check_int("seed", seed, minimum=0)).permutation(n)
    x = data.data[order].astype(np.float64)
    x = {"unit": x / 16.0, "symmetric": x / 8.0 - 1.0, "raw": x}[scaling]
    labels = torch.as_tensor(data.target[order], dtype=torch.long)
    x = torch.as_tensor(x, dtype=dtype)
    x_tr, x_te = x[:n_train], x[n_train:]
    if center:
        mean = x_tr.mean(0, keepdim=True)
        x_tr, x_te = x_tr - mean, x_te - mean
    return Digits(x_tr, labels[:n_train], x_te, labels[n_train:])
