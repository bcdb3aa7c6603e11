"""Answer checks for the book's code exercises that never reveal the reference answer.

A student writes ``lmlib.exercises.check("deep_linear.halftime_ratio", my_answer)``
and is told whether the answer is right (within a tolerance) and, if not, gets a
hint — never the expected value. The references are computed here from lmlib's
theory modules, so they cannot drift from what the chapter's text derives.

An answer is either a number/array, or a function; a function is called on inputs
the student does not see and its outputs are compared with the reference's.
"""
from __future__ import annotations

import importlib
import json
import os
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

__all__ = ["Exercise", "check", "Result", "exercise_ids", "NOT_ATTEMPTED"]


@dataclass(frozen=True)
class Exercise:
    """One checkable exercise.

    Attributes:
        reference: returns the right answer; called with the keyword arguments of
            each entry of ``inputs`` when the answer is a function, with none otherwise.
        inputs: argument sets to call a function answer with (empty: the answer is a value).
        rtol, atol: tolerance of the comparison.
        hint: shown when the answer is wrong; must not contain the answer.
    """

    reference: Callable[..., Any]
    inputs: tuple[dict, ...] = ()
    rtol: float = 1e-3
    atol: float = 0.0
    hint: str = ""


@dataclass(frozen=True)
class Result:
    """The outcome of :func:`check`: ``bool(result)`` is whether the answer is right."""

    exercise: str
    correct: bool
    message: str = field(repr=False)
    status: str = "wrong"

    def __bool__(self) -> bool:
        return self.correct

    def __repr__(self) -> str:
        return self.message


def _registry() -> dict[str, Exercise]:
    """Every exercise of the book, ``"<module>.<name>"`` → :class:`Exercise`.

    Each chapter's checks live in a module of their own, ``lmlib/exercises/<chapter>.py``,
    holding a dict ``EXERCISES`` of names → :class:`Exercise`; a new chapter adds a module
    and nothing here changes. Modules are imported on first use.
    """
    global _REGISTRY
    if _REGISTRY is None:
        found: dict[str, Exercise] = {}
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{__name__}.{info.name}")
            for key, ex in getattr(module, "EXERCISES", {}).items():
                if not isinstance(ex, Exercise):
                    raise TypeError(f"{module.__name__}.EXERCISES[{key!r}] is not an Exercise")
                found[f"{info.name}.{key}"] = ex
        _REGISTRY = found
    return _REGISTRY


_REGISTRY: dict[str, Exercise] | None = None


def exercise_ids() -> list[str]:
    """The ids of every checkable exercise, e.g. ``["deep_linear.discrete_map", ...]``."""
    return sorted(_registry())


def _close(answer: Any, expected: Any, rtol: float, atol: float) -> bool:
    try:
        a = np.asarray(answer.detach().cpu() if hasattr(answer, "detach") else answer, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    b = np.asarray(expected, dtype=np.float64)
    if a.shape != b.shape:
        return False
    return bool(np.all(np.isfinite(a)) and np.allclose(a, b, rtol=rtol, atol=atol))


NOT_ATTEMPTED = None
"""The placeholder answer of a student notebook's answer cell: checking it reports "not attempted"."""


def check(exercise: str, answer: Any, *, quiet: bool = False) -> Result:
    """Check an answer to a book exercise without revealing the reference.

    Args:
        exercise: the exercise's id as printed in the book, e.g. ``"deep_linear.discrete_map"``.
        answer: a number/array, or a function when the exercise asks for one. ``None`` (the
            placeholder in a student notebook's answer cell) counts as "not attempted".
        quiet: do not print the verdict (it is still returned).

    Returns:
        A :class:`Result`; ``bool(result)`` tells whether the answer is right and
        ``result.status`` is ``"correct"``, ``"wrong"`` or ``"not attempted"``.

    Raises:
        KeyError: for an unknown exercise id (the message lists the known ones).
        TypeError: if the exercise asks for a function and ``answer`` is neither callable nor None.

    When the environment variable ``LMLIB_GRADE_LOG`` names a file (``python -m lmlib grade``
    sets it), each verdict is also appended to it as one JSON line.
    """
    registry = _registry()
    if exercise not in registry:
        raise KeyError(f"unknown exercise {exercise!r}; known: {sorted(registry)}")
    ex = registry[exercise]
    why = ""
    if answer is NOT_ATTEMPTED:
        status = "not attempted"
    elif ex.inputs:
        if not callable(answer):
            raise TypeError(f"exercise {exercise!r} asks for a function; got {type(answer).__name__}")
        status = "correct"
        for kwargs in ex.inputs:
            try:
                got = answer(**kwargs)
            except Exception as err:  # the student's code failing is an answer too
                status, why = "wrong", f"your function raised {type(err).__name__}: {err}"
                break
            if not _close(got, ex.reference(**kwargs), ex.rtol, ex.atol):
                status, why = "wrong", f"it gives a wrong result for {kwargs}"
                break
    else:
        status = "correct" if _close(answer, ex.reference(), ex.rtol, ex.atol) else "wrong"
        why = "the value is not within tolerance"
    if status == "correct":
        message = f"[correct] {exercise}: well done."
    elif status == "wrong":
        message = f"[not yet] {exercise}: {why}. Hint: {ex.hint}"
    else:
        message = f"[not attempted] {exercise}: replace None with your answer, then run the check again."
    _log(exercise, status)
    if not quiet:
        print(message)
    return Result(exercise, status == "correct", message, status)


def _log(exercise: str, status: str) -> None:
    path = os.environ.get("LMLIB_GRADE_LOG", "").strip()
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"exercise": exercise, "status": status}) + "\n")
