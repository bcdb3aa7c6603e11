"""Answer checks for the book's code exercises that never reveal the reference answer.

A student writes ``lmlib.exercises.check("deep_linear.halftime_ratio", my_answer)``
and is told whether the answer is right (within a tolerance) and, if not, gets a
hint — never the expected value. The references are computed here from lmlib's
theory modules, so they cannot drift from what the chapter's text derives.

An answer is either a number/array, or a function; a function is called on inputs
the student does not see and its outputs are compared with the reference's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from lmlib.theory import saxe

__all__ = ["Exercise", "EXERCISES", "check", "Result"]


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

    def __bool__(self) -> bool:
        return self.correct

    def _repr_markdown_(self) -> str:
        return self.message


EXERCISES: dict[str, Exercise] = {
    "deep_linear.halftime_ratio": Exercise(
        reference=lambda: float(saxe.half_time(0.5, 1e-3, 0.01) / saxe.half_time(3.0, 1e-3, 0.01)),
        rtol=5e-3,
        hint="Use τ½ = ln(s/u0 − 1)/(2s) for each mode; the learning rate cancels in the ratio.",
    ),
    "deep_linear.plateau_u0": Exercise(
        reference=lambda: float(3.0 / (1.0 + math.exp(2.0 * 3.0 * 0.01 * 200.0))),
        rtol=1e-2,
        hint="Set τ½ = η·200 for s = 3 and solve ln(s/u0 − 1) = 2sτ½ for u0.",
    ),
    "deep_linear.discrete_map": Exercise(
        reference=lambda s, u0, lr, steps: saxe.mode_strength_discrete(steps, s, u0, lr),
        inputs=(
            dict(s=3.0, u0=1e-3, lr=0.01, steps=400),
            dict(s=0.5, u0=1e-2, lr=0.05, steps=300),
            dict(s=2.0, u0=0.3, lr=0.2, steps=50),
        ),
        rtol=1e-6,
        atol=1e-9,
        hint="One GD step moves each layer's share a = √u by η·a(s − a²). "
             "Return all strengths, from step 0 to step `steps` inclusive.",
    ),
}


def _close(answer: Any, expected: Any, rtol: float, atol: float) -> bool:
    try:
        a = np.asarray(answer.detach().cpu() if hasattr(answer, "detach") else answer, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    b = np.asarray(expected, dtype=np.float64)
    if a.shape != b.shape:
        return False
    return bool(np.all(np.isfinite(a)) and np.allclose(a, b, rtol=rtol, atol=atol))


def check(exercise: str, answer: Any, *, quiet: bool = False) -> Result:
    """Check an answer to a book exercise without revealing the reference.

    Args:
        exercise: the exercise's id as printed in the book, e.g. ``"deep_linear.discrete_map"``.
        answer: a number/array, or a function when the exercise asks for one.
        quiet: do not print the verdict (it is still returned).

    Returns:
        A :class:`Result`; ``bool(result)`` tells whether the answer is right.

    Raises:
        KeyError: for an unknown exercise id (the message lists the known ones).
        TypeError: if the exercise asks for a function and ``answer`` is not callable.
    """
    if exercise not in EXERCISES:
        raise KeyError(f"unknown exercise {exercise!r}; known: {sorted(EXERCISES)}")
    ex = EXERCISES[exercise]
    if ex.inputs:
        if not callable(answer):
            raise TypeError(f"exercise {exercise!r} asks for a function; got {type(answer).__name__}")
        correct = True
        for kwargs in ex.inputs:
            try:
                got = answer(**kwargs)
            except Exception as err:  # the student's code failing is an answer too
                correct, why = False, f"your function raised {type(err).__name__}: {err}"
                break
            if not _close(got, ex.reference(**kwargs), ex.rtol, ex.atol):
                correct, why = False, f"it gives a wrong result for {kwargs}"
                break
    else:
        correct = _close(answer, ex.reference(), ex.rtol, ex.atol)
        why = "the value is not within tolerance"
    message = f"✅ {exercise}: correct." if correct else f"❌ {exercise}: not yet — {why}. Hint: {ex.hint}"
    if not quiet:
        print(message)
    return Result(exercise, correct, message)
