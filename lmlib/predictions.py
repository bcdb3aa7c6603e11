"""Predictions as assertions, and the build's scoreboard.

When a chapter says "theory predicts X", it calls :func:`check` with the measured
value, the predicted value and a tolerance. The pair is appended to the
scoreboard file (one JSON object a line) whether it passes or not, and a miss
raises :class:`PredictionFailed`, which fails the notebook and so the build.
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
    "scoreboard_markdown",
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

    @property
    def tolerance(self) -> str:
        """The tolerance as a reader would write it, e.g. ``"±5%"`` or ``"±0.1"``."""
        parts = []
        if self.atol is not None:
            parts.append(f"±{self.atol:g}")
        if self.rtol is not None:
            parts.append(f"±{100 * self.rtol:g}%")
        return " + ".join(parts)


def scoreboard_path() -> Path:
    """Where predictions are recorded: ``$LMLIB_SCOREBOARD``, or ``_build/scoreboard.jsonl``
    in the book's root (the nearest parent folder holding ``_config.yml``), or the
    current folder if there is none."""
    env = os.environ.get("LMLIB_SCOREBOARD", "").strip()
    if env:
        return Path(env)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").is_file():
            return folder / "_build" / "scoreboard.jsonl"
    return here / "scoreboard.jsonl"


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


def set_chapter(name: str, *, forget_previous: bool = True) -> None:
    """Name the chapter that subsequent :func:`check` calls belong to.

    Args:
        name: e.g. ``"01_solvable/deep_linear"``.
        forget_previous: drop this chapter's earlier records from the scoreboard
            file, so a re-executed chapter shows only its latest checks.
    """
    global _current_chapter
    if not isinstance(name, str) or not name.strip():
        raise TypeError("name must be a non-empty string")
    _current_chapter = name.strip()
    path = scoreboard_path()
    if forget_previous and path.exists():
        kept = [line for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip() and json.loads(line).get("chapter") != _current_chapter]
        path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")


def _chapter() -> str:
    # set_chapter() wins; then $LMLIB_CHAPTER; else the working folder's name.
    return _current_chapter or os.environ.get("LMLIB_CHAPTER", "").strip() or Path.cwd().name


def check(
    name: str,
    measured: Any,
    predicted: Any,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    chapter: str | None = None,
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
        chapter: recorded chapter name; defaults to ``$LMLIB_CHAPTER`` or the working folder.

    Returns:
        The recorded :class:`Prediction`.

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
        chapter=chapter or _chapter(),
        name=name,
        measured=measured_f,
        predicted=predicted_f,
        rtol=None if rtol is None else float(rtol),
        atol=None if atol is None else float(atol),
        error=error,
        passed=passed,
        time=time.time(),
    )
    path = scoreboard_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        # json writes inf/nan as bare tokens; store them as strings so any JSON reader copes.
        row = {k: (repr(v) if isinstance(v, float) and not math.isfinite(v) else v)
               for k, v in asdict(record).items()}
        fh.write(json.dumps(row) + "\n")
    if not passed:
        why = "is not finite" if not math.isfinite(measured_f) else (
            f"differs by {error:.4g}, more than the tolerance {bound:.4g} ({record.tolerance})")
        raise PredictionFailed(
            f"[{record.chapter}] {name}: measured {measured_f:.6g}, predicted {predicted_f:.6g}; "
            f"the measurement {why}."
        )
    return record


def read_scoreboard(path: str | os.PathLike | None = None) -> list[Prediction]:
    """Read every recorded prediction (oldest first) from the scoreboard file.

    Returns an empty list if the file does not exist.
    """
    path = Path(path) if path is not None else scoreboard_path()
    if not path.exists():
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
        out.append(Prediction(**row))
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


def scoreboard_markdown(records: list[Prediction]) -> str:
    """A Markdown table of predictions: chapter, claim, measured, predicted, tolerance, pass."""
    if not records:
        return "No predictions were recorded in this build."
    lines = [
        "| chapter | claim | measured | predicted | tolerance | result |",
        "|---|---|---:|---:|---|---|",
    ]
    def cell(text: str) -> str:
        # A claim like "|u − closed form|" must not split the table's columns.
        return text.replace("|", "\\|")

    for r in records:
        mark = "✅ pass" if r.passed else "❌ FAIL"
        lines.append(
            f"| {cell(r.chapter)} | {cell(r.name)} | {r.measured:.4g} | {r.predicted:.4g} | "
            f"{r.tolerance} | {mark} |"
        )
    n_pass = sum(r.passed for r in records)
    lines.append("")
    lines.append(f"{n_pass} of {len(records)} predictions pass.")
    return "\n".join(lines)
