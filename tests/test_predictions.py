import json
import math

import numpy as np
import pytest
import torch

from lmlib import predictions as P


@pytest.fixture
def chapter():
    P.set_chapter("ch")
    yield "ch"
    P.set_chapter(None)


def test_check_passes_and_records(chapter):
    rec = P.check("a claim", 1.02, 1.0, rtol=0.05)
    assert rec.passed and rec.error == pytest.approx(0.02)
    rows = P.read_scoreboard()
    assert [(r.chapter, r.name, r.passed) for r in rows] == [("ch", "a claim", True)]
    assert rows[0].seed == 0 and rows[0].scale == "quick" and rows[0].torch == torch.__version__


def test_check_fails_with_both_numbers(chapter):
    with pytest.raises(P.PredictionFailed, match=r"measured 1\.2, predicted 1.*tolerance"):
        P.check("too far", 1.2, 1.0, rtol=0.05)
    # the failure is on the scoreboard too
    (row,) = P.read_scoreboard()
    assert not row.passed


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.nan, torch.tensor(float("nan"))])
def test_check_nan_measurement_fails_clearly(bad, chapter):
    with pytest.raises(P.PredictionFailed, match="not finite"):
        P.check("nan claim", bad, 1.0, atol=1.0)
    assert math.isinf(P.read_scoreboard()[-1].error)


def test_check_accepts_tensors_and_arrays():
    assert P.check("t", torch.tensor(2.0), np.array([2.0]), atol=0.0).passed
    assert P.check("abs and rel", 1.09, 1.0, atol=0.05, rtol=0.05).passed


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(), ValueError, "give a tolerance"),
        (dict(rtol=-0.1), ValueError, "rtol must be >= 0"),
        (dict(atol=float("nan")), ValueError, "atol must be >= 0"),
        (dict(atol=0.1, predicted=float("nan")), ValueError, "predicted value must be finite"),
        (dict(atol=0.1, measured="3"), TypeError, "measured must be a real number"),
        (dict(atol=0.1, measured=torch.ones(3)), ValueError, "single number"),
    ],
)
def test_check_bad_arguments(kwargs, err, match):
    args = dict(measured=1.0, predicted=1.0)
    args.update(kwargs)
    with pytest.raises(err, match=match):
        P.check("x", args.pop("measured"), args.pop("predicted"), **args)


def test_set_chapter_forgets_previous_records():
    P.set_chapter("a")
    P.check("one", 1.0, 1.0, atol=0)
    P.set_chapter("b")
    P.check("two", 1.0, 1.0, atol=0)
    P.set_chapter("a")  # re-executing chapter a drops its old rows, keeps b's
    assert [r.chapter for r in P.read_scoreboard()] == ["b"]


def test_latest_keeps_the_newest(chapter):
    P.check("x", 1.0, 1.0, atol=0.1)
    P.check("x", 1.05, 1.0, atol=0.1)
    rows = P.latest(P.read_scoreboard())
    assert len(rows) == 1 and rows[0].measured == 1.05


def test_check_outside_a_chapter_records_nothing(tmp_path, monkeypatch):
    """A check in a shell, script or test (no start_chapter) never writes a scoreboard."""
    P.set_chapter(None)
    assert P.check("stray", 1.0, 1.0, atol=0.1).passed
    with pytest.raises(P.PredictionFailed):
        P.check("stray nan", float("nan"), 1.0, rtol=0.1)
    assert P.read_scoreboard() == []
    # ... not even in a book's _build when run from inside the book
    monkeypatch.delenv("LMLIB_SCOREBOARD")
    (tmp_path / "_config.yml").write_text("title: t\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(P.PredictionFailed):
        P.check("x", float("nan"), 1.0, rtol=0.1)
    assert not (tmp_path / "_build").exists()


def test_outside_a_book_nothing_is_written(tmp_path, monkeypatch):
    """Colab: a fresh folder, no _config.yml above it: even an opened chapter leaves no file."""
    monkeypatch.delenv("LMLIB_SCOREBOARD")
    monkeypatch.chdir(tmp_path)
    assert P.scoreboard_path() is None
    P.set_chapter("01_solvable/deep_linear")
    try:
        P.check("claim", 1.0, 1.0, atol=0.1)
    finally:
        P.set_chapter(None)
    assert list(tmp_path.iterdir()) == []


def test_prediction_displays_as_one_readable_line(chapter):
    rec = P.check("half-time of mode s=3 (steps)", 134.9, 133.4, rtol=0.05)
    text = repr(rec)
    assert "Prediction(" not in text and "\n" not in text
    assert text == "[pass] half-time of mode s=3 (steps): measured 134.9 vs predicted 133.4 (±5%)"
    html = rec._repr_html_()
    assert "pass" in html and "133.4" in html and "±5%" in html and "\u2713" not in html


def test_read_scoreboard_reports_bad_lines(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"x": 1}) + "\n{not json\n")
    with pytest.raises((ValueError, TypeError)):
        P.read_scoreboard(path)
    assert P.read_scoreboard(tmp_path / "missing.jsonl") == []


def test_scoreboard_path_finds_book_root(tmp_path, monkeypatch):
    monkeypatch.delenv("LMLIB_SCOREBOARD")
    (tmp_path / "_config.yml").write_text("title: t\n")
    sub = tmp_path / "chapters" / "x"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert P.scoreboard_path() == tmp_path / "_build" / "scoreboard.jsonl"


def test_scoreboard_markdown_summary_and_sections(chapter):
    from lmlib.book.scoreboard import scoreboard_markdown

    P.check("max |u − v|", 0.0, 0.0, atol=0.1)
    P.set_chapter("other")
    with pytest.raises(P.PredictionFailed):
        P.check("y", 2.0, 1.0, rtol=0.1)
    md = scoreboard_markdown(P.read_scoreboard())
    assert md.startswith("**2 predictions in 2 chapters: 1 pass, 1 fail.**")
    assert "scale **quick** · LMLIB_SEED **0**" in md
    row = next(line for line in md.splitlines() if "max" in line)
    assert "max \\|u − v\\|" in row and row.replace("\\|", "").count("|") == 6
    assert "**FAIL**" in md and "✅" not in md and "❌" not in md
    assert "No predictions" in scoreboard_markdown([])
