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

__all__ = ["use_style", "COLORS", "theory_vs_experiment", "band", "scrubber", "Scrubber", "sequential_colors"]

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


class Scrubber(str):
    """The HTML of a kernel-free animation, displayable as it is.

    A ``str`` (so ``IPython.display.HTML(scrubber)`` still works) whose rich display is the
    interactive player on the website and a still of ``still_frame`` where HTML cannot show
    (the PDF, a plain terminal).
    """

    png: bytes = b""
    n_frames: int = 0

    def _repr_html_(self) -> str:
        return str(self)

    def _repr_png_(self) -> bytes | None:
        return self.png or None

    def __repr__(self) -> str:
        return f"<scrubber: {self.n_frames} frames>"


def scrubber(
    fig: plt.Figure,
    update: Callable[[int], object],
    n_frames: int,
    *,
    interval: int = 200,
    still_frame: int = -1,
) -> Scrubber:
    """A kernel-free slider over frames, to display as a cell's last expression.

    Each frame is drawn by ``update(i)`` on ``fig`` (matplotlib's FuncAnimation) and
    the animation is embedded as JavaScript with play/step controls and a slider,
    so it works on the static website without a running kernel. The buttons are
    labelled in words (no icon font from a CDN). The figure is closed afterwards so it
    is not also shown as a still image.

    Args:
        fig: the figure the frames are drawn on.
        update: ``update(i)`` redraws the figure for frame ``i``.
        n_frames: number of frames (>= 2).
        interval: milliseconds between frames when playing.
        still_frame: the frame shown where the animation cannot play (the PDF); default last.

    Returns:
        A :class:`Scrubber`: HTML that displays itself (``IPython.display.HTML(...)`` of it works too).
    """
    import io

    from matplotlib.animation import FuncAnimation

    if not isinstance(n_frames, (int, np.integer)) or n_frames < 2:
        raise ValueError(f"n_frames must be an int >= 2, got {n_frames!r}")
    anim = FuncAnimation(fig, update, frames=int(n_frames), interval=interval, blit=False)
    html = Scrubber(_offline_controls(anim.to_jshtml(default_mode="once")))
    update(int(still_frame) % int(n_frames))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    html.png, html.n_frames = buf.getvalue(), int(n_frames)
    return html


# matplotlib's player draws its buttons with Font Awesome 4 from a CDN: offline they are blank
# squares and the page logs a failed request. Plain words need no font and no network.
_BUTTON_WORDS = {"fa-minus": "slower", "fa-fast-backward": "first", "fa-step-backward": "back",
                 "fa-play fa-flip-horizontal": "reverse", "fa-pause": "pause", "fa-play": "play",
                 "fa-step-forward": "next", "fa-fast-forward": "last", "fa-plus": "faster"}


def _offline_controls(html: str) -> str:
    import re

    html = re.sub(r'<link[^>]+font-awesome[^>]*>', "", html)
    return re.sub(r'<i class="fa (fa-[\w -]+?)"></i>',
                  lambda m: _BUTTON_WORDS.get(m[1].strip(), m[1].removeprefix("fa-")), html)


def sequential_colors(n: int, cmap: str = "viridis") -> Sequence:
    """``n`` colours from a sequential colormap, for curves ordered by a parameter."""
    return [plt.get_cmap(cmap)(v) for v in np.linspace(0.1, 0.9, n)]
