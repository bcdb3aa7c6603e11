"""What an instructor needs to know about each chapter, read from the chapters themselves.

:func:`chapter_exercises` lists a chapter's exercises and classifies each: **checked** (its
text asks for ``lmlib.exercises.check(...)``, so ``python -m lmlib grade`` can mark it),
**code** (it asks to write or run code, marked by reading it), or **pen and paper**.
:func:`instructor_markdown` turns that, with each chapter's execution time from the last
build, into the table of the instructors' page — for every chapter in ``_toc.yml``, so new
chapters appear without anyone editing the page.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import jupytext

from lmlib.book.chapters import toc_chapters
from lmlib.book.notebooks import _Block, _parse, _walk, colab_url

__all__ = ["chapter_exercises", "instructor_markdown"]

_CHECK = re.compile(r"lmlib\.exercises\.check\(\s*[\"']([\w.]+)[\"']")
_CODE_WORDS = re.compile(r"\b(train|write a function|implement|code|plot|simulate|run|measure|`\w+\()", re.I)


def chapter_exercises(md_path: str | Path) -> list[dict]:
    """The exercises of a chapter, in order: ``label``, ``title``, ``kind`` and ``checks`` (ids)."""
    nb = jupytext.read(Path(md_path), fmt="md:myst")
    out = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for node in _walk(_parse(cell.source.splitlines())):
            if isinstance(node, _Block) and node.name in ("exercise", "exercise-start"):
                body = "\n".join(node.body)
                checks = list(dict.fromkeys(_CHECK.findall(body)))
                kind = "checked" if checks else ("code" if _CODE_WORDS.search(body) else "pen and paper")
                out.append(dict(label=node.options.get("label", ""), title=node.arg or "Exercise",
                                kind=kind, checks=checks))
    return out


def instructor_markdown(root: str | Path, page_dir: str | Path) -> str:
    """Markdown table: per chapter, its exercises by kind, its run time, and its student notebook."""
    from lmlib.book.scoreboard import chapter_status

    root, page_dir = Path(root), Path(page_dir)
    seconds = {r["chapter"]: r["seconds"] for r in chapter_status(root)}
    lines = ["| chapter | exercises: checked by code · code · pen and paper | run time (s) | student notebook |",
             "|:---|:---|---:|:---|"]
    totals = {"checked": 0, "code": 0, "pen and paper": 0}
    for name, path in toc_chapters(root).items():
        exercises = chapter_exercises(path)
        if not exercises:
            continue
        counts = {k: sum(e["kind"] == k for e in exercises) for k in totals}
        for k in totals:
            totals[k] += counts[k]
        title = next((ln[2:].strip() for ln in path.read_text(encoding="utf-8").splitlines()
                      if ln.startswith("# ")), name)
        rel = Path(os.path.relpath(path.resolve(), page_dir.resolve())).as_posix()
        secs = seconds.get(name)
        lines.append(f"| [{title}]({rel}) | {counts['checked']} · {counts['code']} · {counts['pen and paper']} "
                     f"| {secs:.0f} |" if secs is not None else
                     f"| [{title}]({rel}) | {counts['checked']} · {counts['code']} · {counts['pen and paper']} | — |")
        lines[-1] += f" [open in Colab]({colab_url(path, root, student=True)}) |"
    lines += ["", f"In all: {totals['checked']} exercises checked by `lmlib.exercises`, {totals['code']} "
              f"to write and run code for, {totals['pen and paper']} for pen and paper."]
    return "\n".join(lines)
