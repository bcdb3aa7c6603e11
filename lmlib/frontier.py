"""Compute frontiers: many online training runs at once, and the frontier fitted to them.

:func:`train_two_layer_online` trains a grid of two-layer ReLU students of different widths and
horizons on fresh data; :func:`compute_frontier` extracts the lower envelope of their losses
against compute, fits its power law and reads off the compute-optimal size N*(C).

A compute frontier (Kaplan et al. 2020; Hoffmann et al. 2022) needs one run per (model size, training
horizon): every run gets its own learning-rate schedule, decaying to zero at its own horizon T, and
fresh examples at every step (one pass over an infinite stream, so loss is test loss). Trained one at
a time, the small runs spend their time in Python. Here all runs are one computation:

* Every student is ``f(x) = Σ_j a_j relu(w_j·x + b_j) + c`` (1/fan-in initialisation, as
  :class:`lmlib.models.MLP` with ``"sp"``). The hidden units of all students are concatenated into
  one wide layer, and each student's output is the sum over *its* units (``index_add``), so one
  matrix product serves every width and members share no parameter.
* Gradients are written by hand (the network is two layers deep) and the optimizer is
  ``torch.optim.Adam``'s formula applied elementwise, which is exactly per-student Adam.
* Students are ordered by horizon, longest first, so at step t the students still training are a
  prefix of the unit axis: a run with horizon 31 costs 31 steps, not 4000.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from lmlib._checks import check_int, check_real, check_tensor

__all__ = ["OnlineRuns", "train_two_layer_online", "n_params_two_layer", "cosine_factor", "Frontier", "compute_frontier"]

Sampler = Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def n_params_two_layer(width: int | np.ndarray, d: int) -> np.ndarray:
    """Trainable parameters of a d → width → 1 ReLU network with biases: width·(d + 2) + 1."""
    return np.asarray(width) * (d + 2) + 1


def cosine_factor(step: int | np.ndarray, horizon: int | np.ndarray) -> np.ndarray:
    """Learning-rate factor ½(1 + cos(π·t/T)) of update t in a run of T updates (0 from t = T on)."""
    t, T = np.asarray(step, dtype=np.float64), np.asarray(horizon, dtype=np.float64)
    return np.where(t < T, 0.5 * (1.0 + np.cos(np.pi * np.minimum(t, T) / T)), 0.0)


@dataclass
class OnlineRuns:
    """Results of :func:`train_two_layer_online`: one entry per (width, horizon, lr) run.

    Attributes:
        widths, horizons, lrs: the grid, shapes ``[W]``, ``[H]``, ``[R]``.
        test_loss: final test MSE of each run divided by Var(y_test), shape ``[W, H, R]``.
        n_params: parameters of each width, ``[W]``.
        compute: C = 6·N·B·T of each run, ``[W, H]`` (forward + backward FLOPs, Kaplan et al.).
        diverged: runs whose loss became NaN/inf (their test_loss is inf), ``[W, H, R]``.
    """

    widths: np.ndarray
    horizons: np.ndarray
    lrs: np.ndarray
    test_loss: np.ndarray
    n_params: np.ndarray
    compute: np.ndarray
    diverged: np.ndarray


def train_two_layer_online(
    sample: Sampler,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    *,
    widths: Sequence[int],
    horizons: Sequence[int],
    lr: float | Sequence[float] = 3e-3,
    batch_size: int = 128,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    seed: int = 0,
    data_seed: int = 0,
) -> OnlineRuns:
    """Train one two-layer ReLU student per (width, horizon, lr) on fresh batches, with Adam and cosine decay.

    Run (w, T, η) takes T Adam steps with learning rate η·½(1 + cos(πt/T)) on the loss
    ½·mean(f(x) − y)² of a fresh batch drawn by ``sample`` at every step; all runs see the same
    batch at step t. Every run of a width starts from the same initialisation (drawn from
    ``seed``), so runs differ only in horizon and learning rate.

    Args:
        sample: ``sample(batch_size, generator) -> (x [B, d], y [B])``, drawing fresh examples.
        x_test, y_test: a held-out set ``[m, d]``, ``[m]`` (fresh draws from the same source).
        widths: hidden widths (≥ 1 each).
        horizons: numbers of steps T (≥ 1 each).
        lr: Adam's peak learning rate, one value or several (each gives its own runs).
        batch_size: B, examples per step.
        betas, eps: Adam's constants (torch's defaults).
        seed: seed of the initialisation.
        data_seed: seed of the generator passed to ``sample``.

    Returns:
        :class:`OnlineRuns` with the final test loss of every run, normalised by Var(y_test).

    Raises:
        TypeError, ValueError: for bad widths, horizons, learning rates or test data.
    """
    widths = np.array([check_int("widths[i]", w, minimum=1) for w in widths], dtype=np.int64)
    horizons = np.array([check_int("horizons[i]", h, minimum=1) for h in horizons], dtype=np.int64)
    lrs = np.atleast_1d(np.asarray(lr, dtype=np.float64))
    if widths.size == 0 or horizons.size == 0 or lrs.ndim != 1 or lrs.size == 0:
        raise ValueError("widths, horizons and lr must be non-empty")
    if not (np.isfinite(lrs).all() and (lrs > 0).all()):
        raise ValueError(f"lr must be positive and finite, got {lrs.tolist()}")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    eps = check_real("eps", eps, nonnegative=True)
    x_test = check_tensor("x_test", x_test, ndim=2, floating=True)
    y_test = check_tensor("y_test", y_test, ndim=1, floating=True)
    if y_test.shape[0] != x_test.shape[0]:
        raise ValueError(f"y_test needs one value per row of x_test ({x_test.shape[0]}), got {y_test.shape[0]}")
    dev, dtype, d = x_test.device, x_test.dtype, x_test.shape[1]
    b1, b2 = betas

    # Members: every (width, horizon, lr), sorted by horizon (longest first) so the ones still
    # training at step t are a prefix of the member axis -- and, through `unit_end`, of the units.
    grid = [(i, j, k) for j in np.argsort(-horizons, kind="stable") for i in range(widths.size)
            for k in range(lrs.size)]
    member_w = np.array([widths[i] for i, _, _ in grid])
    member_T = np.array([horizons[j] for _, j, _ in grid])
    member_lr = np.array([lrs[k] for _, _, k in grid])
    owner = torch.as_tensor(np.repeat(np.arange(len(grid)), member_w), device=dev)   # member of each unit
    unit_end = np.cumsum(member_w)                                                    # units of members < m+1

    # One initialisation per width, shared by that width's runs.
    gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    init = {int(w): (torch.randn(int(w), d, generator=gen, dtype=torch.float64) / math.sqrt(d),
                     torch.randn(int(w), generator=gen, dtype=torch.float64) / math.sqrt(w)) for w in widths}
    W = torch.cat([init[int(w)][0] for w in member_w]).to(dev, dtype)
    a = torch.cat([init[int(w)][1] for w in member_w]).to(dev, dtype)
    b = torch.zeros(W.shape[0], device=dev, dtype=dtype)
    c = torch.zeros(len(grid), device=dev, dtype=dtype)
    params = [W, b, a, c]
    m_state = [torch.zeros_like(p) for p in params]
    v_state = [torch.zeros_like(p) for p in params]
    data_gen = torch.Generator().manual_seed(check_int("data_seed", data_seed, minimum=0))

    for t in range(int(member_T.max())):
        n_act = int((member_T > t).sum())            # members still training: a prefix
        u = int(unit_end[n_act - 1])                 # ...and their units
        x, y = sample(batch_size, data_gen)
        x, y = x.to(dev, dtype), y.to(dev, dtype)
        Wa, ba, aa, ca, own = W[:u], b[:u], a[:u], c[:n_act], owner[:u]
        pre = x @ Wa.T + ba                          # [B, u]
        h = pre.clamp_min(0)
        out = torch.zeros(batch_size, n_act, device=dev, dtype=dtype).index_add_(1, own, h * aa) + ca
        r = (out - y[:, None]) / batch_size          # dL/d out for L = ½·mean (f − y)²
        r_u = r[:, own]                              # each unit sees its own member's residual
        g_pre = r_u * aa * (pre > 0)
        grads = [g_pre.T @ x, g_pre.sum(0), (r_u * h).sum(0), r.sum(0)]
        lr_m = torch.as_tensor(member_lr[:n_act] * cosine_factor(t, member_T[:n_act]), device=dev, dtype=dtype)
        lr_of = [lr_m[own][:, None], lr_m[own], lr_m[own], lr_m]
        step = t + 1
        for p, g, m, v, lr_p, k in zip(params, grads, m_state, v_state, lr_of, (u, u, u, n_act)):
            # torch.optim.Adam: bias-corrected first and second moments, elementwise.
            m[:k].lerp_(g, 1 - b1)
            v[:k].mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v[:k].sqrt() / math.sqrt(1 - b2 ** step)).add_(eps)
            p[:k].sub_(lr_p / (1 - b1 ** step) * m[:k] / denom)

    with torch.no_grad():
        h = (x_test @ W.T + b).clamp_min(0)
        out = torch.zeros(x_test.shape[0], len(grid), device=dev, dtype=dtype).index_add_(1, owner, h * a) + c
        mse = ((out - y_test[:, None]) ** 2).mean(0) / y_test.var()
    mse = mse.double().cpu().numpy()
    bad = ~np.isfinite(mse)
    loss = np.empty((widths.size, horizons.size, lrs.size))
    diverged = np.zeros_like(loss, dtype=bool)
    for m, (i, j, k) in enumerate(grid):
        loss[i, j, k] = np.inf if bad[m] else mse[m]
        diverged[i, j, k] = bad[m]
    n_params = n_params_two_layer(widths, d)
    compute = 6.0 * n_params[:, None] * batch_size * horizons[None, :].astype(np.float64)
    return OnlineRuns(widths, horizons, lrs, loss, n_params, compute, diverged)


# ----------------------------------------------------------------------------- the compute frontier
@dataclass
class Frontier:
    """The compute-efficient frontier of a grid of runs, and its power-law fit.

    Attributes:
        grid: compute values C on a log grid, ``[G]``.
        loss: the frontier min over sizes of L_size(C) at each grid value, ``[G]``.
        best: index of the size that attains it, ``[G]`` (N*(C) = sizes[best]).
        curves: each size's loss interpolated (log–log) onto the grid, NaN outside its runs, ``[S, G]``.
        window: boolean mask of the grid points used in the fit, ``[G]``.
        exponent: c in L ≈ A·C^(−c) over the window (positive for a falling frontier).
        prefactor: A.
        r2: R² of that fit in log–log.
        decades: log10 of the window's span in C.
        n_star_exponent: slope of log N* against log C over the window.
        spearman: Spearman rank correlation of N* with C over the window.
    """

    grid: np.ndarray
    loss: np.ndarray
    best: np.ndarray
    curves: np.ndarray
    window: np.ndarray
    exponent: float
    prefactor: float
    r2: float
    decades: float
    n_star_exponent: float
    spearman: float


def _ranks(a: np.ndarray) -> np.ndarray:
    # Ranks with ties averaged (N* is a step function of C, so ties are the rule).
    order = np.argsort(a, kind="mergesort")
    ranks = np.empty(a.size)
    ranks[order] = np.arange(a.size)
    _, inverse = np.unique(a, return_inverse=True)
    return (np.bincount(inverse, ranks) / np.bincount(inverse))[inverse]


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (ties averaged); 0 if either side is constant."""
    rx, ry = _ranks(np.asarray(x, dtype=np.float64)), _ranks(np.asarray(y, dtype=np.float64))
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def compute_frontier(compute: np.ndarray, loss: np.ndarray, sizes: np.ndarray, *, points_per_decade: int = 12
                     ) -> Frontier:
    """Extract and fit the compute-efficient frontier from a (size × horizon) grid of final losses.

    Each size's losses are interpolated linearly in (log C, log L) between its horizons; the frontier
    at C is the lowest of them. Fitting a power law to the whole frontier is wrong at both ends: below
    the compute where the smallest size stops being optimal the frontier is the smallest model's own
    curve (no smaller model was tried), and past the compute where the largest size becomes optimal
    it is the largest model's curve, which bends as that model saturates. So the fit window runs from
    the last grid point where the smallest size is optimal to the first where the largest is (as in
    the frontier fits of Hoffmann et al. 2022, restricted to where the grid of sizes brackets N*).

    Args:
        compute: C of each run, ``[S, H]`` (sizes × horizons, increasing along H).
        loss: final loss of each run, ``[S, H]``, positive (inf/NaN runs are ignored).
        sizes: the model size (parameter count) of each row, increasing, ``[S]``.
        points_per_decade: density of the log-C grid.

    Returns:
        A :class:`Frontier`.

    Raises:
        ValueError: for inconsistent shapes, fewer than 2 sizes, or a window of fewer than 3 points
            (the grid of sizes does not bracket the optimum anywhere).
    """
    from lmlib.metrics import fit_power_law

    C, L, N = (np.asarray(v, dtype=np.float64) for v in (compute, loss, sizes))
    if C.ndim != 2 or C.shape != L.shape or N.shape != (C.shape[0],):
        raise ValueError(f"compute and loss must be [sizes, horizons] and sizes [sizes]; got "
                         f"{C.shape}, {L.shape}, {N.shape}")
    if C.shape[0] < 2 or np.any(np.diff(N) <= 0):
        raise ValueError("need at least 2 sizes, in increasing order")
    if not (np.all(C > 0) and np.all(np.diff(C, axis=1) > 0)):
        raise ValueError("compute must be positive and increase along the horizon axis")
    points_per_decade = check_int("points_per_decade", points_per_decade, minimum=2)
    lo, hi = np.log10(C.min()), np.log10(C.max())
    grid = 10 ** np.linspace(lo, hi, max(int((hi - lo) * points_per_decade) + 1, 2))
    curves = np.full((C.shape[0], grid.size), np.nan)
    for s in range(C.shape[0]):
        ok = np.isfinite(L[s]) & (L[s] > 0)
        if ok.sum() < 2:
            continue
        lc, ll = np.log(C[s, ok]), np.log(L[s, ok])
        inside = (np.log(grid) >= lc[0] - 1e-12) & (np.log(grid) <= lc[-1] + 1e-12)
        curves[s, inside] = np.exp(np.interp(np.log(grid[inside]), lc, ll))
    covered = np.isfinite(curves).any(axis=0)
    grid, curves = grid[covered], curves[:, covered]
    best = np.nanargmin(np.where(np.isfinite(curves), curves, np.inf), axis=0)
    front = curves[best, np.arange(grid.size)]
    smallest, largest = np.flatnonzero(best == 0), np.flatnonzero(best == C.shape[0] - 1)
    start = smallest.max() if smallest.size else 0
    stop = largest.min() if largest.size else grid.size - 1
    window = np.zeros(grid.size, dtype=bool)
    window[start:stop + 1] = True
    if window.sum() < 3:
        raise ValueError(f"the fit window has {int(window.sum())} grid points: the sizes do not bracket the "
                         f"compute-optimal size; add sizes or horizons")
    slope, pref, r2 = fit_power_law(grid[window], front[window], return_r2=True)
    n_slope, _ = fit_power_law(grid[window], N[best[window]])
    rho = _spearman(grid[window], N[best[window]])
    return Frontier(grid, front, best, curves, window, -slope, pref, r2,
                    float(np.log10(grid[window][-1] / grid[window][0])), n_slope, rho)
