"""lmlib: the small PyTorch library behind *Learning Mechanics*, an executable textbook.

Theory lives here once, next to the experiment it predicts. Chapters import the
submodules they need (``lmlib.train``, ``lmlib.ntk``, ``lmlib.theory.saxe`` ...);
the few most used names are re-exported at the top level.
"""
from __future__ import annotations

import importlib
from typing import Any

from lmlib.config import base_seed, device, pick, scale, seed, seed_everything
from lmlib.predictions import PredictionFailed, check, set_chapter

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "scale",
    "pick",
    "device",
    "seed",
    "seed_everything",
    "check",
    "PredictionFailed",
    "start_chapter",
]

def start_chapter(name: str) -> None:
    """The first call of every chapter: open it for the scoreboard, seed everything,
    apply the plotting house style, and print what the run uses.

    Torch, NumPy and Python's ``random`` are seeded from :func:`lmlib.seed` (``seed(0)``),
    so even a draw that forgot to take its own seed is reproducible under ``LMLIB_SEED``.

    Args:
        name: the chapter's path under ``chapters/`` without extension, e.g. ``"01_solvable/deep_linear"``.
    """
    import torch

    from lmlib import viz

    set_chapter(name)
    seed_everything(seed(0))
    viz.use_style()
    print(f"lmlib {__version__} · torch {torch.__version__} · scale={scale()} · "
          f"LMLIB_SEED={base_seed()} · device={device()}")


_SUBMODULES = {
    "config", "data", "models", "train", "ensemble", "theory", "predictions", "viz", "exercises",
    "ntk", "hessian", "metrics", "sweep", "book",
}


def __getattr__(name: str) -> Any:
    # Submodules load on first use (``lmlib.ntk``) so ``import lmlib`` stays cheap.
    if name in _SUBMODULES:
        return importlib.import_module(f"lmlib.{name}")
    raise AttributeError(f"module 'lmlib' has no attribute {name!r}")
