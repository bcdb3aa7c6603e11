"""lmlib: the small PyTorch library behind *Learning Mechanics*, an executable textbook.

Theory lives here once, next to the experiment it predicts. Chapters import the
submodules they need (``lmlib.train``, ``lmlib.ntk``, ``lmlib.theory.saxe`` ...);
the few most used names are re-exported at the top level.
"""
from __future__ import annotations

import importlib
from typing import Any

from lmlib.config import device, pick, scale, seed_everything
from lmlib.predictions import PredictionFailed, check

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "scale",
    "pick",
    "device",
    "seed_everything",
    "check",
    "PredictionFailed",
]

_SUBMODULES = {
    "config", "data", "models", "train", "theory", "predictions", "viz", "exercises",
    "notebooks", "ntk", "hessian", "metrics", "sweep",
}


def __getattr__(name: str) -> Any:
    # Submodules load on first use (``lmlib.ntk``) so ``import lmlib`` stays cheap.
    if name in _SUBMODULES:
        return importlib.import_module(f"lmlib.{name}")
    raise AttributeError(f"module 'lmlib' has no attribute {name!r}")
