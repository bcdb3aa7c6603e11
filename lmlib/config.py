"""Run-time configuration: the scale knob, the device, and seeding.

Every chapter runs at one of two scales. ``quick`` (the default) keeps a chapter
under about a minute on two CPU cores, so the website and CI can execute it on
every build; ``full`` gives publication-size runs meant for a GPU. Chapters never
test the scale themselves: they write ``pick(quick=..., full=...)``.
"""
from __future__ import annotations

import os
import random
from typing import TypeVar

import numpy as np
import torch

__all__ = ["SCALES", "scale", "pick", "device", "base_seed", "seed", "seed_everything"]

SCALES = ("quick", "full")
T = TypeVar("T")


def scale() -> str:
    """Return the current scale, read from the ``LMLIB_SCALE`` environment variable.

    Unset or empty means ``"quick"``. Case and surrounding spaces are ignored.

    Raises:
        ValueError: if the variable holds anything other than ``quick`` or ``full``.
    """
    raw = os.environ.get("LMLIB_SCALE", "")
    value = raw.strip().lower() or "quick"
    if value not in SCALES:
        raise ValueError(
            f"LMLIB_SCALE={raw!r} is not a valid scale; valid values are "
            f"{' or '.join(repr(s) for s in SCALES)} (unset means 'quick')."
        )
    return value


def pick(*, quick: T, full: T) -> T:
    """Return ``quick`` or ``full`` according to the current :func:`scale`.

    Example:
        >>> steps = pick(quick=3000, full=20000)
    """
    return quick if scale() == "quick" else full


def device() -> torch.device:
    """The device lmlib computes on: CUDA when available, else CPU.

    Set ``LMLIB_DEVICE`` (e.g. ``cpu``, ``cuda:1``, ``mps``) to override.

    Raises:
        ValueError: if ``LMLIB_DEVICE`` names a device torch does not understand.
    """
    override = os.environ.get("LMLIB_DEVICE", "").strip()
    if override:
        try:
            return torch.device(override)
        except RuntimeError as err:
            raise ValueError(f"LMLIB_DEVICE={override!r} is not a torch device: {err}") from None
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def base_seed() -> int:
    """The book-wide seed, read from the ``LMLIB_SEED`` environment variable (default 0).

    Raises:
        ValueError: if the variable is set to anything but a non-negative integer.
    """
    raw = os.environ.get("LMLIB_SEED", "")
    value = raw.strip()
    if not value:
        return 0
    if not value.isdigit():
        raise ValueError(
            f"LMLIB_SEED={raw!r} is not a valid seed; it must be an integer >= 0 "
            f"such as 0, 1 or 7 (unset means 0).")
    return int(value)


def seed(k: int = 0) -> int:
    """The seed of a chapter's ``k``-th random draw, under the book-wide seed ``LMLIB_SEED``.

    Every random draw in a chapter (data, initialisations, minibatch order, noise, the
    members of a seed ensemble) takes its seed from here, never from a literal, so
    ``LMLIB_SEED=7`` reruns the book on draws nobody tuned for.

    The map is the Cantor pairing of ``(S, k)`` with ``S = LMLIB_SEED``::

        seed(k) = (S + k)(S + k + 1)/2 + k

    a bijection from pairs of non-negative integers onto the non-negative integers: distinct
    ``(S, k)`` always give distinct seeds, so no draw under one book seed repeats a draw of
    another, and ``S = 0, k = 0`` gives 0.

    Args:
        k: index of the draw within the chapter (0, 1, 2, ...).

    Raises:
        TypeError: if ``k`` is not an int.
        ValueError: if ``k`` is negative, or ``LMLIB_SEED`` is invalid.

    Example:
        >>> [seed(k) for k in range(4)]          # with LMLIB_SEED unset
        [0, 2, 5, 9]
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an int, got {type(k).__name__}")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    k, s = int(k), base_seed()
    return (s + k) * (s + k + 1) // 2 + k


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices) and return a fresh CPU generator.

    The returned generator lets code draw random numbers without touching the
    global state; lmlib functions that take ``seed=`` use one internally.

    Raises:
        TypeError: if ``seed`` is not an integer.
        ValueError: if ``seed`` is negative.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed % 2**63)
    return torch.Generator().manual_seed(seed % 2**63)
