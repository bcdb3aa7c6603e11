"""Hyperparameter transfer (Yang et al. 2022): loss against learning rate at several widths.

:func:`lr_curve` trains one width's whole learning-rate grid (times a few initialisations)
as one vmapped :func:`lmlib.ensemble.train_ensemble` run with Adam, in SP or in μP — μP's
per-layer rates enter as ``param_lr`` multipliers from :func:`lmlib.models.mup_lr_multipliers`.
:func:`optimal_lr` locates the optimum *between* grid points by fitting a parabola to
log-loss against log₂ lr around the grid minimum, so that a drift of the optimum smaller
than the grid spacing is still measured.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from lmlib._checks import check_choice, check_int, check_tensor

__all__ = ["lr_curve", "optimal_lr"]


def lr_curve(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    width: int,
    lrs: Sequence[float],
    parameterization: str = "sp",
    depth: int = 2,
    steps: int = 150,
    batch_size: int = 32,
    n_inits: int = 1,
    loss: str = "cross_entropy",
    activation: str = "relu",
    cosine: bool = True,
    seed: int = 0,
) -> np.ndarray:
    """Final training loss of an MLP of one width at every learning rate, with Adam and cosine decay.

    The network is ``MLP((d_in, width × depth, d_out), parameterization=...)``; every
    (learning rate, initialisation) pair is one ensemble member, all trained on the same
    minibatches. The learning rate decays to zero on a cosine over ``steps``, which makes the
    final loss a smooth function of the peak rate.

    Args:
        x, y: training data (``y`` integer labels for cross-entropy, targets for ``"mse"``).
        width: hidden width n.
        lrs: the base learning rates η (μP: the η of :mod:`lmlib.models.mup`'s table).
        parameterization: ``"sp"`` (one rate for all) or ``"mup"`` (Table 3, Adam column).
        depth: number of hidden layers (≥ 1).
        steps: Adam steps; batch_size: minibatch size.
        n_inits: initialisations per learning rate (averaged by the caller if wanted).
        loss: ``"cross_entropy"`` or ``"mse"``.
        activation: hidden nonlinearity (see :class:`lmlib.models.MLP`).
        cosine: decay the rate to zero on a cosine (else hold it constant).
        seed: seeds the initialisations and the minibatch order.

    Returns:
        Final full-data training loss, shape ``[len(lrs), n_inits]`` (``inf`` where a run diverged).
    """
    from lmlib.ensemble import train_ensemble
    from lmlib.models import MLP, mup_lr_multipliers

    x, y = check_tensor("x", x, ndim=2, floating=True), check_tensor("y", y)
    width = check_int("width", width, minimum=1)
    depth = check_int("depth", depth, minimum=1)
    n_inits = check_int("n_inits", n_inits, minimum=1)
    steps = check_int("steps", steps, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    check_choice("parameterization", parameterization, ["sp", "mup"])
    lrs = np.asarray(lrs, dtype=np.float64).reshape(-1)
    if lrs.size == 0 or not np.all(np.isfinite(lrs) & (lrs > 0)):
        raise ValueError(f"lrs must be a non-empty list of positive numbers, got {lrs.tolist()}")
    d_out = int(y.max()) + 1 if loss == "cross_entropy" else (1 if y.ndim == 1 else y.shape[1])
    dims = (x.shape[1], *([width] * depth), d_out)
    gen = torch.Generator().manual_seed(seed)
    init_seeds = torch.randint(2**31 - 1, (n_inits,), generator=gen).tolist()
    models = [MLP(dims, activation, parameterization=parameterization, seed=s).to(x.device)
              for _ in lrs for s in init_seeds]
    param_lr = mup_lr_multipliers(models[0], optimizer="adam") if parameterization == "mup" else None
    hist = train_ensemble(models, x, y, lr=np.repeat(lrs, n_inits), steps=steps, loss=loss, optimizer="adam",
                          batch_size=batch_size, param_lr=param_lr, record_every=steps, seed=seed + 1,
                          lr_schedule=(lambda t: 0.5 * (1 + math.cos(math.pi * t / steps))) if cosine else None,
                          allow_divergence=True)
    final = hist["loss"][-1].copy()
    final[~np.isfinite(final)] = np.inf
    return final.reshape(len(lrs), n_inits)


def optimal_lr(lrs: Sequence[float], losses: Sequence[float], *, half_width: int = 2) -> float:
    """The learning rate at the minimum of a loss curve, interpolated between grid points.

    Fits ``log loss ≈ a·u² + b·u + c`` with ``u = log₂ lr`` to the ``2·half_width + 1`` grid
    points centred on the grid minimum (fewer at the grid's edge) and returns ``2^(−b/2a)``,
    clipped to the fitted window. A curve too flat or too noisy to curve upwards (a ≤ 0) gives
    the grid minimum.

    Args:
        lrs: the learning-rate grid (positive, increasing).
        losses: the loss at each (positive; ``inf`` for diverged runs, never at the minimum).
        half_width: grid points on each side of the minimum used in the fit (≥ 1).

    Returns:
        The interpolated optimal learning rate.

    Raises:
        ValueError: on mismatched or invalid inputs, or if no loss is finite.
    """
    lrs = np.asarray(lrs, dtype=np.float64).reshape(-1)
    losses = np.asarray(losses, dtype=np.float64).reshape(-1)
    half_width = check_int("half_width", half_width, minimum=1)
    if lrs.shape != losses.shape or lrs.size < 3:
        raise ValueError(f"lrs and losses must have one equal length >= 3, got {lrs.size} and {losses.size}")
    if not np.all(lrs > 0) or not np.all(np.diff(lrs) > 0):
        raise ValueError("lrs must be positive and increasing")
    finite = np.isfinite(losses)
    if not finite.any():
        raise ValueError("no finite loss: every run diverged")
    if np.any(losses[finite] <= 0):
        raise ValueError("losses must be positive (the fit is in log loss)")
    u = np.log2(lrs)
    i = int(np.argmin(np.where(finite, losses, np.inf)))
    lo, hi = max(0, i - half_width), min(len(u), i + half_width + 1)
    window = [j for j in range(lo, hi) if finite[j]]
    if len(window) < 3:
        return float(lrs[i])
    a, b, _ = np.polyfit(u[window], np.log(losses[window]), 2)
    if a <= 0:
        return float(lrs[i])
    return float(2.0 ** np.clip(-b / (2 * a), u[window[0]], u[window[-1]]))
