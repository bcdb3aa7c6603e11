"""python -m lmlib grade on four students: correct, wrong, crashing and unattempted (and a broken file)."""
from __future__ import annotations

import csv

import nbformat
import pytest

from lmlib.__main__ import main
from lmlib.book.grade import grade, grade_table

pytestmark = pytest.mark.slow  # starts a kernel per notebook

CHECK = 'import lmlib\nlmlib.exercises.check("deep_linear.halftime_ratio", your_ratio)'
CHECK2 = 'lmlib.exercises.check("deep_linear.discrete_map", gd_mode)'
GOOD_MAP = ("import numpy as np\ndef gd_mode(s, u0, lr, steps):\n    u = [np.asarray(u0, float)]\n"
            "    for _ in range(steps):\n        u.append(u[-1] * (1 + lr * (s - u[-1])) ** 2)\n"
            "    return np.stack(u)")


def _nb(path, *cells):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(nb, path)


@pytest.fixture
def classroom(tmp_path):
    import math

    ratio = 6 * math.log(499) / math.log(2999)
    _nb(tmp_path / "alice.ipynb", f"your_ratio = {ratio}", CHECK, GOOD_MAP, CHECK2)
    _nb(tmp_path / "bob.ipynb", "your_ratio = 2.0", CHECK, "gd_mode = lambda **k: 0", CHECK2)
    _nb(tmp_path / "carol.ipynb", "your_ratio = 1 / 0", CHECK, GOOD_MAP, CHECK2)      # raises, goes on
    _nb(tmp_path / "dave.ipynb", "your_ratio = None", CHECK, "gd_mode = None", CHECK2)
    (tmp_path / "eve.ipynb").write_text("{ this is not a notebook")
    return tmp_path


def test_grade_reports_each_student_and_exercise(classroom):
    results = {r.student: r for r in grade([classroom], timeout=120)}
    assert results["alice"].exercises == {"deep_linear.halftime_ratio": "correct",
                                          "deep_linear.discrete_map": "correct"}
    assert results["alice"].run == "ok"
    assert set(results["bob"].exercises.values()) == {"wrong"}
    # carol's first cell raises: the check after it fails on a NameError and is "not attempted",
    # but her notebook keeps running and the second exercise is graded.
    assert results["carol"].run.startswith("raised: ZeroDivisionError")
    assert results["carol"].exercises["deep_linear.discrete_map"] == "correct"
    assert results["carol"].exercises["deep_linear.halftime_ratio"] == "not attempted"
    assert set(results["dave"].exercises.values()) == {"not attempted"}
    assert results["eve"].run.startswith("malformed")
    table = grade_table(list(results.values()))
    assert "alice" in table and "2/2" in table and "malformed" in table


def test_grade_times_out_a_hanging_notebook(tmp_path):
    _nb(tmp_path / "slow.ipynb", "import time\ntime.sleep(60)", CHECK)
    (result,) = grade([tmp_path / "slow.ipynb"], timeout=3)
    assert result.run.startswith("timed out") and result.exercises["deep_linear.halftime_ratio"] == "not attempted"


def test_grade_cli_writes_csv(classroom, capsys):
    out = classroom / "grades.csv"
    assert main(["grade", str(classroom / "alice.ipynb"), str(classroom / "dave.ipynb"), "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["student"] for r in rows] == ["alice", "dave"]
    assert rows[0]["deep_linear.halftime_ratio"] == "correct" and rows[1]["correct"] == "0"
    assert "wrote" in capsys.readouterr().out


def test_grade_cli_help_says_how(capsys):
    with pytest.raises(SystemExit):
        main(["grade", "--help"])
    assert "student notebook" in capsys.readouterr().out.lower()
