"""The book's plotting house style.

Theory is a dashed black line drawn over measured, coloured curves; seeds are
shaded bands; power laws go on log axes with the fitted exponent in the legend.
:func:`scrubber` turns a sequence of frames into a kernel-free JavaScript
animation with a slider, so a figure stays explorable on the static website.
"""
from __future__ import annotations

from typing import Callable, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["use_style", "COLORS", "theory_vs_experiment", "band", "scrubber", "sequential_colors"]

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]

_STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.prop_cycle": mpl.cycler(color=COLORS),
    "legend.frameon": False,
    "font.size": 11,
    "axes.titlesize": 12,
    "lines.linewidth": 2.0,
    "animation.embed_limit": 40.0,  # MB; scrubbers of a few dozen small frames fit easily
}


def use_style() -> None:
    """Apply the house style to matplotlib (call once at the top of a chapter)."""
    mpl.rcParams.update(_STYLE)


def theory_vs_experiment(
    ax: plt.Axes,
    x: np.ndarray,
    measured: np.ndarray,
    predicted: np.ndarray,
    *,
    label: str | None = None,
    color: str | None = None,
    theory_label: str | None = "theory",
    marker_every: int | None = None,
) -> None:
    """Draw a measured curve in colour and its prediction as a dashed black line on top.

    Args:
        ax: the axes to draw on.
        x: the shared x values, shape ``[T]``.
        measured, predicted: y values, shape ``[T]``.
        label: legend label of the measured curve.
        color: colour of the measured curve (next in the cycle if None).
        theory_label: legend label of the theory line; pass None on all but one
            call so the legend lists "theory" once.
        marker_every: draw the measurement as markers every this many points
            instead of a line (useful when theory and data overlap exactly).

    Raises:
        ValueError: if the three arrays do not have the same length.
    """
    x, measured, predicted = (np.asarray(a, dtype=float) for a in (x, measured, predicted))
    if not (x.shape == measured.shape == predicted.shape) or x.ndim != 1:
        raise ValueError(f"x, measured and predicted must be 1-d of one length; got shapes "
                         f"{x.shape}, {measured.shape}, {predicted.shape}")
    if marker_every:
        ax.plot(x[::marker_every], measured[::marker_every], "o", ms=4, label=label, color=color, alpha=0.8)
    else:
        ax.plot(x, measured, label=label, color=color, alpha=0.85)
    ax.plot(x, predicted, "--", color="black", lw=1.3, label=theory_label, zorder=5)


def band(ax: plt.Axes, x: np.ndarray, runs: np.ndarray, *, label: str | None = None,
         color: str | None = None, log: bool = False) -> None:
    """Plot the mean over seeds with a shaded band from the minimum to the maximum.

    Args:
        runs: shape ``[n_seeds, T]``.
        log: average in log space (geometric mean), for losses on log axes.
    """
    runs = np.asarray(runs, dtype=float)
    if runs.ndim != 2 or runs.shape[1] != len(x):
        raise ValueError(f"runs must have shape [n_seeds, len(x)={len(x)}], got {runs.shape}")
    centre = np.exp(np.log(runs).mean(0)) if log else runs.mean(0)
    (line,) = ax.plot(x, centre, label=label, color=color)
    ax.fill_between(x, runs.min(0), runs.max(0), color=line.get_color(), alpha=0.2, lw=0)


def scrubber(
    fig: plt.Figure,
    update: Callable[[int], object],
    n_frames: int,
    *,
    interval: int = 200,
) -> str:
    """A kernel-free slider over frames: returns HTML to show with ``IPython.display.HTML``.

    Each frame is drawn by ``update(i)`` on ``fig`` (matplotlib's FuncAnimation) and
    the animation is embedded as JavaScript with play/step controls and a slider,
    so it works on the static website without a running kernel. The figure is
    closed afterwards so it is not also shown as a still image.

    Args:
        fig: the figure the frames are drawn on.
        update: ``update(i)`` redraws the figure for frame ``i``.
        n_frames: number of frames (>= 2).
        interval: milliseconds between frames when playing.
    """
    from matplotlib.animation import FuncAnimation

    if not isinstance(n_frames, (int, np.integer)) or n_frames < 2:
        raise ValueError(f"n_frames must be an int >= 2, got {n_frames!r}")
    anim = FuncAnimation(fig, update, frames=int(n_frames), interval=interval, blit=False)
    html = anim.to_jshtml(default_mode="once")
    plt.close(fig)
    return html


def sequential_colors(n: int, cmap: str = "viridis") -> Sequence:
    """``n`` colours from a sequential colormap, for curves ordered by a parameter."""
    return [plt.get_cmap(cmap)(v) for v in np.linspace(0.1, 0.9, n)]
