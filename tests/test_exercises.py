import numpy as np
import pytest

from lmlib import exercises
from lmlib.theory import saxe


def test_right_and_wrong_values_never_reveal_reference(capsys):
    ref = exercises.EXERCISES["deep_linear.halftime_ratio"].reference()
    assert exercises.check("deep_linear.halftime_ratio", ref)
    wrong = exercises.check("deep_linear.halftime_ratio", ref * 1.5)
    assert not wrong
    out = capsys.readouterr().out
    for shown in (f"{ref:.2f}", f"{ref:.3f}", f"{ref:g}", repr(ref)):
        assert shown not in out


def test_function_answers_are_called_on_hidden_inputs():
    good = lambda s, u0, lr, steps: saxe.mode_strength_discrete(steps, s, u0, lr)  # noqa: E731
    assert exercises.check("deep_linear.discrete_map", good, quiet=True)
    flow = lambda s, u0, lr, steps: saxe.mode_strength(np.arange(steps + 1), s, u0, lr)  # noqa: E731
    assert not exercises.check("deep_linear.discrete_map", flow, quiet=True)
    broken = exercises.check("deep_linear.discrete_map", lambda **k: 1 / 0, quiet=True)
    assert not broken and "ZeroDivisionError" in broken.message


def test_every_exercise_reference_is_finite():
    for name, ex in exercises.EXERCISES.items():
        for kwargs in ex.inputs or ({},):
            assert np.all(np.isfinite(ex.reference(**kwargs))), name


def test_unknown_exercise_and_wrong_kind():
    with pytest.raises(KeyError, match="unknown exercise"):
        exercises.check("nope", 1.0)
    with pytest.raises(TypeError, match="asks for a function"):
        exercises.check("deep_linear.discrete_map", 1.0)
    assert not exercises.check("deep_linear.halftime_ratio", "abc", quiet=True)
