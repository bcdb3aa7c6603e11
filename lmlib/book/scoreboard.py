"""The build's scoreboard and status pages, and the records they are made from.

Both pages are regenerated on every build: each is a tiny notebook
(``chapters/appendix/scoreboard.md``, ``status.md``) whose one cell calls
:func:`scoreboard_page` or :func:`status_page`. Only chapters listed in ``_toc.yml``
count: a chapter dropped from the book drops out of its scoreboard too.
"""
from __future__ import annotations

import datetime
import json
from pathlib import Path

from lmlib.book.chapters import toc_chapters
from lmlib.predictions import Prediction, latest, read_scoreboard

__all__ = ["book_records", "scoreboard_markdown", "scoreboard_page", "chapter_status", "status_table",
           "status_page", "STATUS_FILE"]

STATUS_FILE = "status.json"   # under _build/: per chapter, how it was executed (the Sphinx extension writes it)


def book_records(root: str | Path) -> list[Prediction]:
    """The latest record of every prediction of the chapters in ``_toc.yml``, in toc order."""
    root = Path(root)
    order = {name: i for i, name in enumerate(toc_chapters(root))}
    records = [r for r in latest(read_scoreboard(root / "_build" / "scoreboard.jsonl")) if r.chapter in order]
    return sorted(records, key=lambda r: order[r.chapter])  # stable: claims keep their page order


def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


def _cell(text: str) -> str:
    # A claim like "|u − closed form|" must not split the table's columns.
    return text.replace("|", "\\|")


def _run_line(records: list[Prediction]) -> str:
    def values(field: str) -> str:
        found = sorted({str(getattr(r, field)) for r in records if getattr(r, field) is not None})
        return " / ".join(found) if found else "unknown"

    return (f"scale **{values('scale')}** · LMLIB_SEED **{values('seed')}** · device **{values('device')}** · "
            f"lmlib {values('lmlib')} · torch {values('torch')}")


def scoreboard_markdown(records: list[Prediction], chapters: dict[str, Path] | None = None,
                        page_dir: Path | None = None) -> str:
    """Markdown for the scoreboard: a summary, then one table per chapter.

    Args:
        records: the predictions (e.g. :func:`book_records`).
        chapters: chapter name → source path, for titles and links (default: names only).
        page_dir: folder of the page the Markdown goes in, to make relative links.
    """
    if not records:
        return "No predictions were recorded in this build."
    chapters = chapters or {}
    by_chapter: dict[str, list[Prediction]] = {}
    for r in records:
        by_chapter.setdefault(r.chapter, []).append(r)

    def link(name: str) -> str:
        path = chapters.get(name)
        if path is None:
            return _cell(name)
        target = Path(path).resolve()
        rel = target.relative_to(page_dir.resolve()) if page_dir and page_dir.resolve() in target.parents else None
        if rel is None and page_dir is not None:
            import os

            rel = Path(os.path.relpath(target, page_dir.resolve()))
        return f"[{_cell(_title(target))}]({rel.as_posix() if rel else target.as_posix()})"

    n_pass = sum(r.passed for r in records)
    n_fail = len(records) - n_pass
    lines = [f"**{len(records)} predictions in {len(by_chapter)} chapters: {n_pass} pass, {n_fail} fail.**", "",
             f"This build ran at {_run_line(records)}.", "",
             "| chapter | predictions | pass | fail |", "|:---|---:|---:|---:|"]
    for name, recs in by_chapter.items():
        ok = sum(r.passed for r in recs)
        lines.append(f"| {link(name)} | {len(recs)} | {ok} | {len(recs) - ok} |")
    for name, recs in by_chapter.items():
        lines += ["", f"**{link(name)}** · `{name}`", "",
                  "| claim | measured | predicted | tolerance | result |", "|:---|---:|---:|:---|:---|"]
        for r in recs:
            result = "pass" if r.passed else "**FAIL**"
            lines.append(f"| {_cell(r.name)} | {r.measured:.4g} | {r.predicted:.4g} | {r.tolerance} | {result} |")
    return "\n".join(lines)


def _book_root_here() -> Path:
    from lmlib.predictions import book_root

    root = book_root()
    if root is None:
        raise FileNotFoundError("not inside a book (no _config.yml above the working folder)")
    return root


def scoreboard_page() -> str:
    """The scoreboard page's Markdown for the book around the working folder."""
    root = _book_root_here()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"Built {stamp}.\n\n" + scoreboard_markdown(book_records(root), toc_chapters(root), Path.cwd())


# ----------------------------------------------------------------------------- status

def chapter_status(root: str | Path) -> list[dict]:
    """Per chapter of the toc: how it was executed in the last build and how its checks fared.

    Each row has ``chapter``, ``title``, ``path``, ``seconds`` (execution time, None if
    unknown), ``method`` (``"ran"``, ``"cache"`` or ``"not executed"``), ``checks``,
    ``passed``, ``scale`` and ``device``.
    """
    root = Path(root)
    status_file = root / "_build" / STATUS_FILE
    executed = json.loads(status_file.read_text(encoding="utf-8")) if status_file.is_file() else {}
    records = book_records(root)
    rows = []
    for name, path in toc_chapters(root).items():
        recs = [r for r in records if r.chapter == name]
        info = executed.get(path.resolve().relative_to(root.resolve()).with_suffix("").as_posix(), {})
        method = {"cache": "cache", "inline": "ran", "auto": "ran", "force": "ran"}.get(
            info.get("method"), "not executed")
        rows.append(dict(chapter=name, title=_title(path), path=path, seconds=info.get("runtime"),
                         method=method, checks=len(recs), passed=sum(r.passed for r in recs),
                         scale=", ".join(sorted({r.scale for r in recs if r.scale})) or "—",
                         device=", ".join(sorted({r.device for r in recs if r.device})) or "—"))
    return rows


def status_table(rows: list[dict], *, slowest_first: bool = False) -> str:
    """Plain-text table of :func:`chapter_status` rows (what ``python -m lmlib build`` prints)."""
    if slowest_first:
        rows = sorted(rows, key=lambda r: -(r["seconds"] or 0.0))
    head = f"{'chapter':<40} {'seconds':>8} {'how':<13} {'checks':>7} {'pass':>5}  scale / device"
    out = [head, "-" * len(head)]
    for r in rows:
        secs = f"{r['seconds']:.1f}" if r["seconds"] is not None else "—"
        out.append(f"{r['chapter']:<40} {secs:>8} {r['method']:<13} {r['checks']:>7} {r['passed']:>5}  "
                   f"{r['scale']} / {r['device']}")
    total = sum(r["seconds"] or 0.0 for r in rows)
    out.append(f"{len(rows)} chapters, {total:.0f} s of execution in all.")
    return "\n".join(out)


def status_page() -> str:
    """The status page's Markdown for the book around the working folder."""
    import os

    root = _book_root_here()
    rows = chapter_status(root)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"Built {stamp}.", "",
             "| chapter | execution (s) | executed | checks | pass | scale | device |",
             "|:---|---:|:---|---:|---:|:---|:---|"]
    for r in rows:
        rel = Path(os.path.relpath(r["path"].resolve(), Path.cwd().resolve())).as_posix()
        secs = f"{r['seconds']:.1f}" if r["seconds"] is not None else "—"
        how = {"ran": "ran in this build", "cache": "from the cache"}.get(r["method"], r["method"])
        lines.append(f"| [{_cell(r['title'])}]({rel}) | {secs} | {how} | {r['checks']} | {r['passed']} | "
                     f"{r['scale']} | {r['device']} |")
    total = sum(r["seconds"] or 0.0 for r in rows)
    lines += ["", f"{len(rows)} chapters; {total:.0f} s of execution in all, at the time each was last run."]
    return "\n".join(lines)
