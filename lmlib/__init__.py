"""lmlib: the small PyTorch library behind *Learning Mechanics*, an executable textbook.

Theory lives here once, next to the experiment it predicts. Chapters import the
submodules they need (``lmlib.train``, ``lmlib.ntk``, ``lmlib.theory.saxe`` ...);
the few most used names are re-exported at the top level.
"""
from __future__ import annotations

import importlib
from typing import Any

from lmlib.config import device, pick, scale, seed_everything
from lmlib.predictions import PredictionFailed, check, set_chapter

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "scale",
    "pick",
    "device",
    "seed_everything",
    "check",
    "PredictionFailed",
    "start_chapter",
]

def start_chapter(name: str, *, seed: int = 0) -> None:
    """The first call of every chapter: name it for the scoreboard, seed everything,
    apply the plotting house style, and print what the run uses.

    Args:
        name: the chapter's path under ``chapters/`` without extension, e.g. ``"01_solvable/deep_linear"``.
        seed: global seed (each experiment also takes its own).
    """
    import torch

    from lmlib import viz

    set_chapter(name)
    seed_everything(seed)
    viz.use_style()
    print(f"lmlib {__version__} · torch {torch.__version__} · scale={scale()} · device={device()}")


_SUBMODULES = {
    "config", "data", "models", "train", "theory", "predictions", "viz", "exercises",
    "notebooks", "ntk", "hessian", "metrics", "sweep",
}


def __getattr__(name: str) -> Any:
    # Submodules load on first use (``lmlib.ntk``) so ``import lmlib`` stays cheap.
    if name in _SUBMODULES:
        return importlib.import_module(f"lmlib.{name}")
    raise AttributeError(f"module 'lmlib' has no attribute {name!r}")
