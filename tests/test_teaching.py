"""The instructors' page is generated from the chapters: exercise kinds and per-chapter rows."""
from __future__ import annotations

from pathlib import Path

from lmlib.book.teaching import chapter_exercises, instructor_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_exercise_kinds_of_the_deep_linear_chapter():
    ex = chapter_exercises(ROOT / "chapters" / "01_solvable" / "deep_linear.md")
    kinds = {e["label"]: e["kind"] for e in ex}
    assert kinds["ex-dln-modes"] == "pen and paper"
    assert kinds["ex-dln-predict"] == "checked" and kinds["ex-dln-gd-map"] == "checked"
    assert next(e for e in ex if e["label"] == "ex-dln-gd-map")["checks"] == ["deep_linear.discrete_map"]


def test_instructor_table_has_a_row_per_chapter_with_exercises(tmp_path):
    md = instructor_markdown(ROOT, ROOT / "chapters" / "appendix")
    assert "Deep linear networks" in md and "../01_solvable/deep_linear.md" in md
    assert "notebooks/student/01_solvable/deep_linear.ipynb" in md
    assert "In all:" in md
