import json
import math

import numpy as np
import pytest
import torch

from lmlib import predictions as P


def test_check_passes_and_records(tmp_path):
    rec = P.check("a claim", 1.02, 1.0, rtol=0.05, chapter="ch")
    assert rec.passed and rec.error == pytest.approx(0.02)
    rows = P.read_scoreboard()
    assert [(r.chapter, r.name, r.passed) for r in rows] == [("ch", "a claim", True)]


def test_check_fails_with_both_numbers():
    with pytest.raises(P.PredictionFailed, match=r"measured 1\.2, predicted 1.*tolerance"):
        P.check("too far", 1.2, 1.0, rtol=0.05)
    # the failure is on the scoreboard too
    (row,) = P.read_scoreboard()
    assert not row.passed


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.nan, torch.tensor(float("nan"))])
def test_check_nan_measurement_fails_clearly(bad):
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


def test_latest_and_markdown():
    P.check("x", 1.0, 1.0, atol=0.1, chapter="c")
    P.check("x", 1.05, 1.0, atol=0.1, chapter="c")
    rows = P.latest(P.read_scoreboard())
    assert len(rows) == 1 and rows[0].measured == 1.05
    table = P.scoreboard_markdown(rows)
    assert "| c | x | 1.05 | 1 | ±0.1 | ✅ pass |" in table and "1 of 1 predictions pass" in table
    assert "No predictions" in P.scoreboard_markdown([])


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


def test_markdown_escapes_pipes_in_claims():
    P.check("max |u − v|", 0.0, 0.0, atol=0.1, chapter="c")
    table = P.scoreboard_markdown(P.read_scoreboard())
    row = table.splitlines()[2]
    assert "max \\|u − v\\|" in row
    # six unescaped separators-delimited columns
    assert row.replace("\\|", "").count("|") == 7
