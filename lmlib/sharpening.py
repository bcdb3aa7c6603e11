"""Full-batch gradient descent that tracks the sharpness (top Hessian eigenvalue) as it trains.

Edge-of-stability dynamics (Cohen et al. 2021) live on two time scales: the loss
can jump from one step to the next (GD oscillates along the sharpest direction),
while the sharpness drifts over hundreds of steps. So the loss is recorded every
step (it is free under full-batch GD) and the sharpness, which costs a Lanczos
solve of a few dozen Hessian-vector products, only every ``every`` steps.

Training is :func:`lmlib.train.train` run in chunks of ``every`` steps with
plain SGD on the full batch: that optimizer has no state, so chunks compose into
exactly one uninterrupted run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lmlib._checks import check_int, check_real
from lmlib.hessian import sharpness
from lmlib.train import train

__all__ = ["SharpnessRun", "gd_with_sharpness"]


@dataclass
class SharpnessRun:
    """What :func:`gd_with_sharpness` recorded.

    Attributes:
        steps: ``[T + 1]`` step numbers 0 … T of ``loss`` (state after t updates).
        loss: ``[T + 1]`` full-batch training loss at every step.
        sharpness_steps: ``[K]`` the steps where the sharpness was measured (0, every, 2·every, …, T).
        sharpness: ``[K]`` top Hessian eigenvalue of the training loss at those steps.
        lr: the learning rate η (the threshold is 2/η).
        diverged: True if the loss became NaN/inf (the run then stops early).
    """

    steps: np.ndarray
    loss: np.ndarray
    sharpness_steps: np.ndarray
    sharpness: np.ndarray
    lr: float
    diverged: bool = False

    def late(self, fraction: float = 0.4) -> np.ndarray:
        """Sharpness values measured in the last ``fraction`` of the run.

        Raises:
            ValueError: unless 0 < ``fraction`` ≤ 1.
        """
        fraction = check_real("fraction", fraction, positive=True)
        if fraction > 1:
            raise ValueError(f"fraction must be <= 1, got {fraction}")
        start = self.steps[-1] * (1 - fraction)
        return self.sharpness[self.sharpness_steps >= start]


def gd_with_sharpness(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    lr: float,
    steps: int,
    every: int = 25,
    loss: str = "mse",
    tol: float = 1e-3,
    seed: int = 0,
) -> SharpnessRun:
    """Train ``model`` in place by full-batch GD, recording the loss every step and the sharpness every ``every``.

    Pick ``every`` odd: GD at the edge of stability flips the sign of its
    displacement every step, and an even spacing would sample only one phase of
    that period-2 oscillation.

    Args:
        model: the network (trained in place).
        x, y: the full training set.
        lr: learning rate η.
        steps: number of GD updates.
        every: measure the sharpness every this many steps (and at the end).
        loss: ``"mse"`` (½·mean‖f − y‖², the convention of :func:`lmlib.hessian.sharpness`
            too, so the threshold is exactly 2/η) or ``"cross_entropy"``.
        tol: relative tolerance of the Lanczos eigenvalue (see :func:`lmlib.hessian.top_eigenvalues`).
        seed: seed of Lanczos's random start vectors.

    Returns:
        A :class:`SharpnessRun`.

    Raises:
        ValueError, TypeError: on bad arguments (also those of :func:`lmlib.train.train`).
    """
    lr = check_real("lr", lr, positive=True)
    steps = check_int("steps", steps, minimum=1)
    every = check_int("every", every, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    losses: list[np.ndarray] = []
    s_steps, s_vals = [0], [sharpness(model, loss, x, y, tol=tol, seed=seed)]
    done, diverged = 0, False
    while done < steps:
        chunk = min(every, steps - done)
        hist = train(model, x, y, lr=lr, steps=chunk, loss=loss, allow_divergence=True, progress=False)
        # Each chunk records its start and its end; drop the start (it is the previous chunk's end).
        losses.append(hist.loss if done == 0 else hist.loss[1:])
        done += chunk
        if hist.diverged:
            diverged = True
            break
        s_steps.append(done)
        s_vals.append(sharpness(model, loss, x, y, tol=tol, seed=seed + len(s_vals)))
    loss_arr = np.concatenate(losses)
    return SharpnessRun(steps=np.arange(len(loss_arr)), loss=loss_arr,
                        sharpness_steps=np.asarray(s_steps), sharpness=np.asarray(s_vals),
                        lr=lr, diverged=diverged)
