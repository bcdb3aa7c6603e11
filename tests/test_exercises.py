import json

import numpy as np
import pytest

from lmlib import exercises
from lmlib.theory import saxe


def _ref(name):
    return exercises._registry()[name].reference


def test_right_and_wrong_values_never_reveal_reference(capsys):
    ref = _ref("deep_linear.halftime_ratio")()
    assert exercises.check("deep_linear.halftime_ratio", ref)
    wrong = exercises.check("deep_linear.halftime_ratio", ref * 1.5)
    assert not wrong and wrong.status == "wrong"
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


def test_registry_has_one_module_per_chapter():
    ids = exercises.exercise_ids()
    assert "deep_linear.discrete_map" in ids
    assert all(i.count(".") == 1 for i in ids)


def test_every_exercise_reference_is_finite():
    for name, ex in exercises._registry().items():
        for kwargs in ex.inputs or ({},):
            assert np.all(np.isfinite(ex.reference(**kwargs))), name
        assert ex.hint, f"{name} has no hint"


def test_none_is_not_attempted_and_is_logged(tmp_path, monkeypatch):
    log = tmp_path / "grade.jsonl"
    monkeypatch.setenv("LMLIB_GRADE_LOG", str(log))
    res = exercises.check("deep_linear.discrete_map", None, quiet=True)
    assert not res and res.status == "not attempted"
    exercises.check("deep_linear.halftime_ratio", 0.0, quiet=True)
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert rows == [{"exercise": "deep_linear.discrete_map", "status": "not attempted"},
                    {"exercise": "deep_linear.halftime_ratio", "status": "wrong"}]


def test_unknown_exercise_and_wrong_kind():
    with pytest.raises(KeyError, match="unknown exercise"):
        exercises.check("nope", 1.0)
    with pytest.raises(TypeError, match="asks for a function"):
        exercises.check("deep_linear.discrete_map", 1.0)
    assert not exercises.check("deep_linear.halftime_ratio", "abc", quiet=True)
