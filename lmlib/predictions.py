"""Predictions as assertions, and the build's scoreboard.

When a chapter says "theory predicts X", it calls :func:`check` with the measured
value, the predicted value and a tolerance. A miss raises :class:`PredictionFailed`,
which fails the notebook and so the build. In a notebook the verdict shows where the
check is made, as one readable line.

The scoreboard belongs to the build. A check is recorded (one JSON object a line, pass
or fail) only inside a chapter opened by :func:`lmlib.start_chapter`, and only where
there is a scoreboard to write to: ``$LMLIB_SCOREBOARD`` when set (``python -m lmlib
verify`` sets its own), else ``_build/scoreboard.jsonl`` of the book around the working
folder. A check in a shell, a script or a test, or anywhere outside a book (a Colab
notebook in a fresh folder), records nothing.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "Prediction",
    "PredictionFailed",
    "check",
    "set_chapter",
    "scoreboard_path",
    "read_scoreboard",
    "latest",
    "book_root",
    "current_chapter",
]


class PredictionFailed(AssertionError):
    """A measured value fell outside the tolerance of its theoretical prediction."""


@dataclass(frozen=True)
class Prediction:
    """One checked prediction: what was measured, what theory said, and whether they agree."""

    chapter: str
    name: str
    measured: float
    predicted: float
    rtol: float | None
    atol: float | None
    error: float
    passed: bool
    time: float
    seed: int | None = None
    scale: str | None = None
    device: str | None = None
    lmlib: str | None = None
    torch: str | None = None

    @property
    def tolerance(self) -> str:
        """The tolerance as a reader would write it, e.g. ``"±5%"`` or ``"±0.1"``."""
        parts = []
        if self.atol is not None:
            parts.append(f"±{self.atol:g}")
        if self.rtol is not None:
            parts.append(f"±{100 * self.rtol:g}%")
        return " + ".join(parts)

    @property
    def verdict(self) -> str:
        """``"pass"`` or ``"FAIL"``: words, not symbols, so no emoji font is needed."""
        return "pass" if self.passed else "FAIL"

    def __str__(self) -> str:
        return (f"[{self.verdict}] {self.name}: measured {self.measured:.4g} vs predicted "
                f"{self.predicted:.4g} ({self.tolerance})")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from html import escape

        return (f'<div class="lm-check lm-{self.verdict.lower()}"><span class="lm-verdict">'
                f"{self.verdict}</span> <b>{escape(self.name)}</b>: measured "
                f"<code>{self.measured:.4g}</code> vs predicted <code>{self.predicted:.4g}</code> "
                f"<span class=\"lm-tol\">(tolerance {escape(self.tolerance)})</span></div>")

    def _ipython_display_(self) -> None:
        # check() shows its verdict where it is made; a cell ending in check(...) would
        # otherwise show the same line twice. Shown once, then silent (print() still works).
        if getattr(self, "_shown", False):
            return
        object.__setattr__(self, "_shown", True)
        from IPython.display import display

        display({"text/plain": str(self), "text/html": self._repr_html_()}, raw=True)


def book_root() -> Path | None:
    """The book around the working folder: the nearest parent holding ``_config.yml``, or None."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").is_file():
            return folder
    return None


def scoreboard_path() -> Path | None:
    """Where a chapter's predictions are recorded: ``$LMLIB_SCOREBOARD``, else
    ``_build/scoreboard.jsonl`` in the book's root (see :func:`book_root`), else None
    (outside a book nothing is recorded)."""
    env = os.environ.get("LMLIB_SCOREBOARD", "").strip()
    if env:
        return Path(env)
    root = book_root()
    return root / "_build" / "scoreboard.jsonl" if root is not None else None


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a single number, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    elif isinstance(value, np.ndarray):
        if value.size != 1:
            raise ValueError(f"{name} must be a single number, got an array of shape {value.shape}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    return float(value)


_current_chapter: str | None = None


def current_chapter() -> str | None:
    """The chapter opened by :func:`lmlib.start_chapter` in this process, or None."""
    return _current_chapter


def set_chapter(name: str | None, *, forget_previous: bool = True) -> None:
    """Open the chapter that subsequent :func:`check` calls belong to (``None`` closes it).

    :func:`lmlib.start_chapter` calls this; only checks made while a chapter is open
    are recorded on a scoreboard.

    Args:
        name: e.g. ``"01_solvable/deep_linear"``, or None.
        forget_previous: drop this chapter's earlier records from the scoreboard
            file, so a re-executed chapter shows only its latest checks.
    """
    global _current_chapter
    if name is None:
        _current_chapter = None
        return
    if not isinstance(name, str) or not name.strip():
        raise TypeError("name must be a non-empty string")
    _current_chapter = name.strip()
    path = scoreboard_path()
    if forget_previous and path is not None and path.exists():
        kept = [line for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip() and json.loads(line).get("chapter") != _current_chapter]
        path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")


def _run_info() -> dict:
    import torch as _torch

    from lmlib import __version__
    from lmlib.config import base_seed, device, scale

    return dict(seed=base_seed(), scale=scale(), device=str(device()), lmlib=__version__,
                torch=_torch.__version__)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def check(
    name: str,
    measured: Any,
    predicted: Any,
    *,
    rtol: float | None = None,
    atol: float | None = None,
) -> Prediction:
    """Check a measurement against a theoretical prediction and record it on the scoreboard.

    The check passes when ``|measured - predicted| <= atol + rtol * |predicted|``
    (each term only if given). A NaN or infinite measurement always fails.

    Args:
        name: the claim in a few words, e.g. ``"half-time of mode s=3 (steps)"``.
        measured: the number the experiment produced (float, 0-d tensor or 1-element array).
        predicted: the number theory gives.
        rtol: relative tolerance (a fraction of ``|predicted|``).
        atol: absolute tolerance.

    Returns:
        The :class:`Prediction`. In a notebook its one-line verdict is displayed at once,
        so checks made in a loop are visible too.

    Raises:
        PredictionFailed: if the measurement is outside the tolerance or not finite.
        ValueError: if neither tolerance is given, a tolerance is negative, or
            ``predicted`` is not finite.
        TypeError: if a value is not a number.
    """
    if not isinstance(name, str) or not name.strip():
        raise TypeError("name must be a non-empty string describing the claim")
    if rtol is None and atol is None:
        raise ValueError(f"check({name!r}): give a tolerance, rtol= and/or atol=")
    for tol_name, tol in (("rtol", rtol), ("atol", atol)):
        if tol is not None:
            tol = _as_float(tol_name, tol)
            if not tol >= 0:  # also catches NaN
                raise ValueError(f"check({name!r}): {tol_name} must be >= 0, got {tol}")
    measured_f = _as_float("measured", measured)
    predicted_f = _as_float("predicted", predicted)
    if not math.isfinite(predicted_f):
        raise ValueError(f"check({name!r}): predicted value must be finite, got {predicted_f}")
    bound = (atol or 0.0) + (rtol or 0.0) * abs(predicted_f)
    error = abs(measured_f - predicted_f) if math.isfinite(measured_f) else math.inf
    passed = math.isfinite(measured_f) and error <= bound
    record = Prediction(
        chapter=_current_chapter or "",
        name=name,
        measured=measured_f,
        predicted=predicted_f,
        rtol=None if rtol is None else float(rtol),
        atol=None if atol is None else float(atol),
        error=error,
        passed=passed,
        time=time.time(),
        **_run_info(),
    )
    path = scoreboard_path() if _current_chapter else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            # json writes inf/nan as bare tokens; store them as strings so any JSON reader copes.
            row = {k: (repr(v) if isinstance(v, float) and not math.isfinite(v) else v)
                   for k, v in asdict(record).items()}
            fh.write(json.dumps(row) + "\n")
    if passed and _in_kernel():
        record._ipython_display_()
    if not passed:
        why = "is not finite" if not math.isfinite(measured_f) else (
            f"differs by {error:.4g}, more than the tolerance {bound:.4g} ({record.tolerance})")
        where = f"[{record.chapter}] " if record.chapter else ""
        raise PredictionFailed(
            f"{where}{name}: measured {measured_f:.6g}, predicted {predicted_f:.6g}; "
            f"the measurement {why}."
        )
    return record


def read_scoreboard(path: str | os.PathLike | None = None) -> list[Prediction]:
    """Read every recorded prediction (oldest first) from the scoreboard file.

    Returns an empty list if the file does not exist.
    """
    path = Path(path) if path is not None else scoreboard_path()
    if path is None or not path.exists():
        return []
    out = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{line_no}: not a JSON line ({err})") from None
        for key in ("measured", "error"):
            if isinstance(row.get(key), str):
                row[key] = float(row[key])
        known = Prediction.__dataclass_fields__
        out.append(Prediction(**{k: v for k, v in row.items() if k in known}))
    return out


def latest(records: list[Prediction]) -> list[Prediction]:
    """Keep the newest record of each (chapter, name), in first-seen order.

    A chapter executed twice (a cached rebuild, a rerun) records its checks twice;
    the scoreboard shows the last result of each.
    """
    newest: dict[tuple[str, str], Prediction] = {}
    for rec in records:
        newest[(rec.chapter, rec.name)] = rec
    return list(newest.values())
