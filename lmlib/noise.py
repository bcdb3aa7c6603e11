"""Gradient noise and the critical batch size (McCandlish et al. 2018).

Minibatch SGD estimates the full gradient G from B examples. Its covariance is
Σ/B, with Σ the covariance of one example's gradient, so a step's noise falls
as 1/B. Near the optimal step size, McCandlish et al. show that one step at
batch B is worth 1/(1 + B_noise/B) steps at infinite batch, which gives the two
laws this module fits:

    S(B)   = S_min · (1 + B_crit / B)          (steps to reach a target loss)
    η*(B)  = η_max / (1 + B_crit / B)          (the best learning rate)

and a cheap estimate of the critical batch size from gradients alone, the
*simple noise scale*

    B_simple = tr(Σ) / |G|² ,

the batch at which the noise in a minibatch gradient is as large as the signal.
Per-example gradients come from ``torch.func`` (``vmap`` of ``grad`` over examples):
one batched computation, no Python loop over examples.
"""
from __future__ import annotations

import copy
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap

from lmlib._checks import check_int, check_real, check_tensor
from lmlib.train import loss_function

__all__ = ["per_example_grads", "noise_scale", "noise_scale_observable", "fit_critical_batch",
           "critical_batch_curve", "steps_to_target", "simple_noise_scale"]


def _loss_of_one(model: nn.Module, loss: str | Callable) -> Callable:
    """``f(params, buffers, x_i, y_i)``: the loss of a single example as a function of the parameters."""
    criterion = loss_function(loss)

    def one(params, buffers, xi, yi):
        out = functional_call(model, {**buffers, **params}, (xi.unsqueeze(0),))
        return criterion(out, yi.unsqueeze(0))

    return one


def _check_data(x, y) -> tuple[Tensor, Tensor]:
    x, y = check_tensor("x", x), check_tensor("y", y)
    if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0] or x.shape[0] < 2:
        raise ValueError(f"x and y need the same number (>= 2) of examples; got x {tuple(x.shape)}, "
                         f"y {tuple(y.shape)}")
    return x, y


def per_example_grads(model: nn.Module, loss: str | Callable, x: Tensor, y: Tensor,
                      params: Mapping[str, Tensor] | None = None) -> dict[str, Tensor]:
    """The gradient of each example's loss, stacked: name → ``Tensor[n, *param.shape]``.

    Args:
        model: the network (its own parameters are used unless ``params`` is given).
        loss: ``"mse"`` (½‖f − y‖² per example), ``"cross_entropy"`` or a callable ``(output, y)``
            that averages over its batch (it sees a batch of one).
        x, y: the examples ``[n, ...]``.
        params: parameters to differentiate at, name → tensor (default: the model's trainable ones).

    Returns:
        Per-example gradients; their mean over examples is the full-batch gradient.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``.
        ValueError: if ``x`` and ``y`` do not hold the same number (≥ 2) of examples.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x, y = _check_data(x, y)
    if params is None:
        params = {k: p.detach() for k, p in model.named_parameters() if p.requires_grad}
    buffers = {k: b.detach() for k, b in model.named_buffers()}
    one = _loss_of_one(model, loss)
    return vmap(grad(one), in_dims=(None, None, 0, 0))(dict(params), buffers, x, y)


def _noise_stats(grads: Mapping[str, Tensor]) -> tuple[Tensor, Tensor]:
    # tr Σ with the unbiased (n − 1) normalisation, and |G|² of the mean gradient.
    n = next(iter(grads.values())).shape[0]
    g_sq = sum((g.mean(0) ** 2).sum() for g in grads.values())
    tr = sum(((g - g.mean(0)) ** 2).sum() for g in grads.values()) / (n - 1)
    return tr, g_sq


def simple_noise_scale(grads) -> float:
    """B_simple = tr(Σ)/|G|² from a matrix of per-example gradients ``[n, P]`` (array or tensor).

    Σ is their unbiased covariance (normalised by n − 1), G their mean.

    Raises:
        ValueError: unless ``grads`` is 2-D with at least 2 rows.
    """
    g = np.asarray(grads.detach().cpu() if isinstance(grads, Tensor) else grads, dtype=float)
    if g.ndim != 2 or g.shape[0] < 2:
        raise ValueError(f"grads must be a matrix [n >= 2, P], got shape {g.shape}")
    mean = g.mean(0)
    return float(((g - mean) ** 2).sum() / (g.shape[0] - 1) / (mean ** 2).sum())


def noise_scale(model: nn.Module, loss: str | Callable, x: Tensor, y: Tensor) -> dict[str, float]:
    """The simple noise scale B_simple = tr(Σ)/|G|² of ``model`` on the examples ``(x, y)``.

    Σ is the covariance of one example's gradient over ``(x, y)`` (unbiased), G their mean.
    With ``(x, y)`` the whole training set this is exact for SGD on that set; with a sample of it,
    |G|² is biased upwards by tr(Σ)/n, so use enough examples that B_simple ≪ n.

    Returns:
        ``{"b_simple": tr Σ / |G|², "trace_cov": tr Σ, "grad_sq": |G|²}``.

    Raises:
        TypeError, ValueError: as :func:`per_example_grads`.
    """
    tr, g_sq = _noise_stats(per_example_grads(model, loss, x, y))
    return {"b_simple": float(tr / g_sq), "trace_cov": float(tr), "grad_sq": float(g_sq)}


def noise_scale_observable(model: nn.Module, loss: str | Callable, x: Tensor, y: Tensor) -> Callable:
    """An observable for :func:`lmlib.ensemble.train_ensemble` that records B_simple of every member.

    The returned ``fn(state) -> Tensor`` (``state`` = one member's dict of parameters and
    buffers) is a pure tensor function, so ``train_ensemble`` can ``vmap`` it over the members;
    inside, a second ``vmap`` runs over the examples. ``model`` only supplies the architecture.

    Example:
        >>> rec = {"b_simple": noise_scale_observable(MLP((64, 32, 10)), "cross_entropy", x, y)}
        >>> hist = train_ensemble(make, x, y, lr=lrs, steps=500, batch_size=32, record=rec)

    Raises:
        TypeError, ValueError: as :func:`per_example_grads`.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x, y = _check_data(x, y)
    trainable = {k for k, p in model.named_parameters() if p.requires_grad}
    one = _loss_of_one(model, loss)

    def fn(state: Mapping[str, Tensor]) -> Tensor:
        params = {k: v for k, v in state.items() if k in trainable}
        buffers = {k: v for k, v in state.items() if k not in trainable}
        grads = vmap(grad(one), in_dims=(None, None, 0, 0))(params, buffers, x, y)
        tr, g_sq = _noise_stats(grads)
        return tr / g_sq

    return fn


def critical_batch_curve(batch_size, s_min: float, b_crit: float) -> np.ndarray:
    """S(B) = S_min·(1 + B_crit/B): perfect scaling (S ∝ 1/B) below B_crit, none above."""
    b = np.asarray(batch_size, dtype=float)
    return s_min * (1.0 + b_crit / b)


def fit_critical_batch(batch_sizes, steps) -> dict[str, float]:
    """Fit S(B) = S_min·(1 + B_crit/B) to measured steps-to-target, in log space.

    Least squares on log S (every batch size weighs the same, whatever its step count):
    for a trial B_crit the best log S_min is the mean of log S − log(1 + B_crit/B), so the
    fit is a one-dimensional minimisation over log B_crit (bounded by 10⁻³ × the smallest and
    10³ × the largest batch size).

    Args:
        batch_sizes: the B values, ``[m]`` with m ≥ 3, positive.
        steps: steps to reach the target at each B, ``[m]``, positive and finite.

    Returns:
        ``{"s_min", "b_crit", "r2"}``; ``r2`` is the coefficient of determination of log S.

    Raises:
        ValueError: for fewer than 3 points, mismatched lengths or non-positive / non-finite values.
    """
    from scipy.optimize import minimize_scalar

    b = np.asarray(batch_sizes, dtype=float).ravel()
    s = np.asarray(steps, dtype=float).ravel()
    if b.size != s.size or b.size < 3:
        raise ValueError(f"need >= 3 (batch_size, steps) pairs of equal length, got {b.size} and {s.size}")
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(s)) and np.all(b > 0) and np.all(s > 0)):
        raise ValueError("batch_sizes and steps must be positive and finite (a run that never reached "
                         "the target has no step count: drop it or raise the step budget)")
    log_s = np.log(s)

    def residuals(log_bc: float) -> np.ndarray:
        shape = np.log1p(np.exp(log_bc) / b)
        return log_s - shape - np.mean(log_s - shape)

    lo, hi = np.log(b.min() * 1e-3), np.log(b.max() * 1e3)
    res = minimize_scalar(lambda t: float(np.sum(residuals(t) ** 2)), bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-6})
    b_crit = float(np.exp(res.x))
    s_min = float(np.exp(np.mean(log_s - np.log1p(b_crit / b))))
    ss_tot = float(np.sum((log_s - log_s.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residuals(res.x) ** 2)) / ss_tot if ss_tot > 0 else 1.0
    return {"s_min": s_min, "b_crit": b_crit, "r2": r2}


def steps_to_target(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    lrs: Sequence[float] | np.ndarray,
    batch_size: int | None,
    target: float,
    max_steps: int,
    chunk: int,
    loss: str | Callable = "cross_entropy",
    record_every: int = 1,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Train one initialisation at every learning rate in ``lrs`` (one vmapped ensemble) until
    the first member's full-data loss reaches ``target``; return each member's steps to get there.

    The first member to reach the target is, by definition, the one at the best learning rate,
    so there is no need to train on: the ensemble runs in chunks of ``chunk`` steps
    (:func:`lmlib.ensemble.train_ensemble`, plain SGD, which carries no optimizer state from one
    chunk to the next) and stops after the chunk in which some member crossed, or at
    ``max_steps``. Chunk ``c`` draws its minibatches with seed ``seed + c``.

    Args:
        model: the initialisation every member starts from (not modified).
        x, y: the training set.
        lrs: the learning-rate grid, one member each.
        batch_size: minibatch size (``None``: full batch).
        target: the loss level to reach.
        max_steps: give up after this many steps.
        chunk: steps per chunk (the overshoot past the first crossing is at most this).
        loss: ``"cross_entropy"``, ``"mse"`` or a callable, as in ``train_ensemble``.
        record_every: spacing of the loss records, in steps (the crossing is interpolated between them).
        seed: base seed of the minibatch draws.

    Returns:
        A dict: ``"steps"`` the record steps ``[T]``; ``"loss"`` the full-data losses ``[T, N]``
        (NaN once a member diverged); ``"steps_to_target"`` ``[N]`` (NaN where not reached);
        ``"best"`` the index of the best lr (-1 if none reached the target).

    Raises:
        ValueError, TypeError: on bad arguments (also those of ``train_ensemble``).
    """
    from lmlib.ensemble import train_ensemble
    from lmlib.metrics import crossing_time

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    lrs = np.asarray(lrs, dtype=float).ravel()
    target = check_real("target", target)
    max_steps = check_int("max_steps", max_steps, minimum=1)
    chunk = check_int("chunk", chunk, minimum=1)
    record_every = check_int("record_every", record_every, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    members = [copy.deepcopy(model) for _ in lrs]
    steps_all, loss_all, done, c = [], [], 0, 0
    while done < max_steps:
        n_steps = min(chunk, max_steps - done)
        hist = train_ensemble(members, x, y, lr=lrs, steps=n_steps, loss=loss, batch_size=batch_size,
                              record_every=record_every, seed=seed + c, allow_divergence=True, progress=False)
        first = 0 if done == 0 else 1  # a chunk's first record repeats the previous chunk's last
        steps_all.append(hist.steps[first:] + done)
        loss_all.append(hist.loss[first:])
        members = [hist.load_member(m, i) for i, m in enumerate(members)]
        done += n_steps
        c += 1
        if np.any(np.nan_to_num(hist.loss, nan=np.inf) <= target):
            break
    steps_arr, loss_arr = np.concatenate(steps_all), np.concatenate(loss_all)
    # Once diverged, always diverged: a frozen member restarts each chunk from finite weights.
    dead = np.maximum.accumulate(~np.isfinite(loss_arr), axis=0)
    loss_arr = np.where(dead, np.nan, loss_arr)
    # A diverged member never counts as having reached the target.
    reached = crossing_time(steps_arr, -np.nan_to_num(loss_arr, nan=np.inf), -target)
    best = int(np.nanargmin(reached)) if np.isfinite(reached).any() else -1
    return {"steps": steps_arr, "loss": loss_arr, "steps_to_target": np.asarray(reached, dtype=float),
            "best": best}
