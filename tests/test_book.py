"""The build's own checks: the lmlib fingerprint, the scoreboard check, the traceback scan."""
from __future__ import annotations

import json

import pytest

from lmlib.book import build as book
from lmlib import predictions as P


def _book(tmp_path, chapter_text: str, toc: bool = True):
    (tmp_path / "_config.yml").write_text("title: t\n")
    (tmp_path / "chapters" / "part").mkdir(parents=True)
    (tmp_path / "chapters" / "part" / "c.md").write_text(chapter_text)
    if toc:
        (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: chapters/part/c\n")
    (tmp_path / "_build").mkdir()
    return tmp_path


CHAPTER = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
# C

```{code-cell} ipython3
lmlib.start_chapter("part/c")
check("claim", 1.0, 1.0, atol=0.1)
```
"""


def _record(root, **fields):
    row = dict(chapter="part/c", name="claim", measured=1.0, predicted=1.0, rtol=None, atol=0.1,
               error=0.0, passed=True, time=0.0)
    row.update(fields)
    with (root / "_build" / "scoreboard.jsonl").open("a") as fh:
        fh.write(json.dumps(row) + "\n")


def test_fingerprint_is_stable_hex():
    assert book.fingerprint() == book.fingerprint() and len(book.fingerprint()) == 64


def test_check_scoreboard_passes_when_every_chapter_recorded(tmp_path):
    root = _book(tmp_path, CHAPTER)
    _record(root)
    assert book.check_scoreboard(root) == []


def test_check_scoreboard_reports_failures_and_silent_chapters(tmp_path):
    root = _book(tmp_path, CHAPTER)
    assert any("recorded no prediction" in p for p in book.check_scoreboard(root))
    _record(root, passed=False, measured=2.0, error=1.0)
    (problem,) = book.check_scoreboard(root)
    assert "prediction failed" in problem and "measured 2" in problem


def test_latest_record_wins(tmp_path):
    root = _book(tmp_path, CHAPTER)
    _record(root, passed=False)
    _record(root, passed=True)
    assert book.check_scoreboard(root) == []


def test_check_html_finds_tracebacks_in_cell_outputs(tmp_path):
    html = tmp_path / "html"
    html.mkdir()
    good = '<div class="cell_output docutils container"><pre>ok</pre></div>\n</div>'
    bad = ('<div class="cell_output docutils container"><pre>Traceback (most recent call last):\n'
           'ValueError</pre></div>\n</div>')
    (html / "good.html").write_text(good)
    assert book.check_html(html) == []
    (html / "bad.html").write_text(bad)
    assert book.check_html(html) == ["bad.html shows a traceback in a cell output"]
    assert "does not exist" in book.check_html(tmp_path / "missing")[0]


def test_build_refuses_a_folder_without_config(tmp_path):
    with pytest.raises(FileNotFoundError, match="_config.yml"):
        book.build(tmp_path)


def test_scoreboard_cli_check(tmp_path, capsys):
    from lmlib.__main__ import main

    root = _book(tmp_path, CHAPTER)
    _record(root)
    assert main(["scoreboard", "--root", str(root), "--check"]) == 0
    _record(root, passed=False)
    assert main(["scoreboard", "--root", str(root), "--check"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_chapters_dropped_from_the_toc_drop_from_the_scoreboard(tmp_path):
    from lmlib.book.scoreboard import book_records

    root = _book(tmp_path, CHAPTER)
    _record(root)
    _record(root, chapter="gone/chapter", passed=False)   # a chapter no longer in _toc.yml
    assert [r.chapter for r in book_records(root)] == ["part/c"]
    assert book.check_scoreboard(root) == []               # its failure no longer fails the build


def test_a_draft_outside_the_toc_is_not_required_to_record(tmp_path):
    root = _book(tmp_path, CHAPTER)
    (root / "chapters" / "draft.md").write_text(CHAPTER.replace("part/c", "draft"))
    _record(root)
    assert book.check_scoreboard(root) == []
