"""Building the book: cache invalidation, the build itself, and its post-build checks.

jupyter-cache keys an executed chapter on its code cells only, so a change inside
lmlib would leave stale figures and stale predictions in a cached build. We key
the cache on a fingerprint of lmlib's sources as well: when it changes, the
cache is cleared and every chapter re-executes.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

from lmlib.predictions import latest, read_scoreboard

__all__ = ["fingerprint", "build", "build_only", "build_pdf", "check_scoreboard", "check_html"]

_PKG = Path(__file__).resolve().parent.parent  # all of lmlib, not just lmlib.book


def fingerprint() -> str:
    """SHA-256 of every ``.py`` file of lmlib (path and content), as hex."""
    digest = hashlib.sha256()
    for path in sorted(_PKG.rglob("*.py")):
        digest.update(str(path.relative_to(_PKG)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _jupyter_book() -> list[str]:
    exe = Path(sys.executable).with_name("jupyter-book")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("jupyter-book")
    if not found:
        raise FileNotFoundError("jupyter-book is not installed: pip install -r requirements.txt")
    return [found]


def build_only(root: str | Path, chapters: list[str], *, strict: bool = True) -> int:
    """Build just ``chapters`` (names or ``.md`` paths) with the book's Sphinx configuration.

    For authors: catches markup problems (unknown citations, labels or documents, duplicate
    labels) and execution errors of a chapter without building the whole book. The pages go
    to ``_build/only/<names>/`` with a table of contents of their own (the chapters, then the
    references page), and their predictions to a scoreboard there, never the book's. A chapter
    need not be in ``_toc.yml`` yet. Links to chapters left out of this build are reported as
    unknown documents, so link only chapters that exist.

    Returns:
        0 when the build is warning-free (with ``strict``), every prediction passed and no page
        shows a traceback; else non-zero.
    """
    import os

    import yaml

    from lmlib.book.chapters import resolve_chapters

    root = Path(root).resolve()
    if not (root / "_config.yml").is_file():
        raise FileNotFoundError(f"{root} has no _config.yml: run this from the book's root")
    picked = resolve_chapters(chapters, root)
    if not picked:
        raise ValueError("give at least one chapter to build")
    slug = "+".join(name.split("/")[-1] for name in picked)[:80]
    out = root / "_build" / "only" / slug
    if (out / "_build").exists():  # always a cold build: re-executed, re-read, predictions recorded
        shutil.rmtree(out / "_build")
    out.mkdir(parents=True, exist_ok=True)
    files = [p.resolve().relative_to(root).with_suffix("").as_posix() for p in picked.values()]
    toc = {"format": "jb-book", "root": files[0],
           "chapters": [{"file": f} for f in files[1:]] + [{"file": "chapters/appendix/references"}]}
    (out / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    board = out / "scoreboard.jsonl"
    board.unlink(missing_ok=True)
    cmd = [*_jupyter_book(), "build", str(root), "--toc", str(out / "_toc.yml"), "--path-output", str(out)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    print("$", " ".join(cmd), flush=True)
    status = subprocess.call(cmd, cwd=root, env=os.environ | {"LMLIB_SCOREBOARD": str(board)})
    if status != 0:
        print(f"jupyter-book build failed (exit {status}); the messages above name the problem.",
              file=sys.stderr)
        return status
    records = [r for r in latest(read_scoreboard(board)) if r.chapter in picked]
    problems = [f"prediction failed: [{r.chapter}] {r.name}" for r in records if not r.passed]
    problems += [f"{name} recorded no prediction" for name in picked if not any(r.chapter == name for r in records)]
    problems += check_html(out / "_build" / "html")
    for p in problems:
        print("✗", p, file=sys.stderr)
    if problems:
        return 1
    print(f"Built {', '.join(picked)} warning-free; {len(records)} predictions pass. "
          f"Pages: {(out / '_build' / 'html').relative_to(root)}")
    return 0


PDF_NAME = "learning-mechanics.pdf"


def build_pdf(root: str | Path = ".", *, strict: bool = True) -> int:
    """Build the PDF (``jupyter-book build --builder pdflatex``) and put it beside the site.

    Run after the HTML build: the chapters come from its execution cache, so this takes
    a minute or two. The PDF lands in ``_build/latex/`` and is copied to
    ``_build/html/learning-mechanics.pdf``, where the front page links to it.
    """
    import time

    root = Path(root).resolve()
    cmd = [*_jupyter_book(), "build", str(root), "--builder", "pdflatex"]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    print("$", " ".join(cmd), flush=True)
    start = time.perf_counter()
    status = subprocess.call(cmd, cwd=root)
    pdf = root / "_build" / "latex" / PDF_NAME
    if status != 0 or not pdf.is_file():
        print(f"the PDF build failed (exit {status}); see _build/latex/*.log", file=sys.stderr)
        return status or 1
    (root / "_build" / "html").mkdir(parents=True, exist_ok=True)
    shutil.copy2(pdf, root / "_build" / "html" / PDF_NAME)
    print(f"PDF: {pdf.relative_to(root)} ({pdf.stat().st_size / 1e6:.1f} MB) in "
          f"{time.perf_counter() - start:.0f} s; copied beside the site.")
    return 0


def build(root: str | Path = ".", *, strict: bool = True, pdf: bool = False) -> int:
    """Build the book at ``root`` and check the result; returns an exit status (0 = all good).

    Steps: clear the execution cache if lmlib changed (or the scoreboard is missing,
    which would leave cached chapters' predictions unrecorded); run
    ``jupyter-book build`` (with ``-W -n --keep-going`` when ``strict``); then
    :func:`check_scoreboard` and :func:`check_html`.
    """
    root = Path(root).resolve()
    if not (root / "_config.yml").is_file():
        raise FileNotFoundError(f"{root} has no _config.yml: run this from the book's root")
    build_dir = root / "_build"
    stamp = build_dir / ".lmlib-fingerprint"
    current = fingerprint()
    stale = not stamp.exists() or stamp.read_text().strip() != current
    if stale or not (build_dir / "scoreboard.jsonl").exists():
        (build_dir / "status.json").unlink(missing_ok=True)
        # Both caches must go: jupyter-cache (executed notebooks) and Sphinx's
        # environment, which would otherwise not even re-read unchanged chapters.
        for cached in (build_dir / ".jupyter_cache", build_dir / ".doctrees", build_dir / "jupyter_execute"):
            if cached.exists():
                print(f"lmlib changed since the last build (or the scoreboard is gone): removing {cached}")
                shutil.rmtree(cached)
    cmd = [*_jupyter_book(), "build", str(root)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    print("$", " ".join(cmd), flush=True)
    status = subprocess.call(cmd, cwd=root)
    if status != 0:
        print(f"jupyter-book build failed (exit {status}).", file=sys.stderr)
        return status
    build_dir.mkdir(exist_ok=True)
    stamp.write_text(current)
    from lmlib.book.scoreboard import chapter_status, status_table

    print("\nChapters of this build, slowest first:")
    print(status_table(chapter_status(root), slowest_first=True))
    problems = check_scoreboard(root) + check_html(root / "_build" / "html")
    for p in problems:
        print("✗", p, file=sys.stderr)
    if problems:
        return 1
    print("Build checked: every prediction passes and no page shows a traceback.")
    return build_pdf(root, strict=strict) if pdf else 0


def _chapters_with_checks(root: Path) -> dict[str, Path]:
    # Chapters of the table of contents that call check(...) and open themselves with
    # start_chapter("..."); a draft not yet in _toc.yml is not part of the build.
    from lmlib.book.notebooks import chapter_sources

    found = {}
    try:
        sources = chapter_sources(root)
    except FileNotFoundError:  # no _toc.yml: every chapter on disk
        sources = sorted((root / "chapters").rglob("*.md"))
    for md in sources:
        text = md.read_text(encoding="utf-8")
        m = re.search(r"start_chapter\(\s*[\"']([^\"']+)[\"']", text)
        if m and re.search(r"\bcheck\(", text):
            found[m.group(1)] = md
    return found


def check_scoreboard(root: str | Path = ".") -> list[str]:
    """Problems with the build's predictions: failures, and chapters that recorded none.

    Returns:
        A list of human-readable problems (empty when every prediction passed and
        every chapter that calls ``check`` recorded at least one).
    """
    from lmlib.book.scoreboard import book_records

    root = Path(root)
    records = book_records(root) if (root / "_toc.yml").is_file() else latest(
        read_scoreboard(root / "_build" / "scoreboard.jsonl"))
    problems = [f"prediction failed: [{r.chapter}] {r.name}: measured {r.measured:.6g}, "
                f"predicted {r.predicted:.6g} ({r.tolerance})" for r in records if not r.passed]
    recorded = {r.chapter for r in records}
    for chapter, md in sorted(_chapters_with_checks(root).items()):
        if chapter not in recorded:
            problems.append(f"{md.relative_to(root)} calls check() but recorded no prediction "
                            f"(was it executed?)")
    return problems


_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|\w+Error\b.*\n.*Cell In\[|PredictionFailed")


def check_html(html_dir: str | Path) -> list[str]:
    """Pages of the built site whose cell outputs contain a Python traceback."""
    html_dir = Path(html_dir)
    if not html_dir.is_dir():
        return [f"{html_dir} does not exist: was the book built?"]
    problems = []
    for page in sorted(html_dir.rglob("*.html")):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        text = page.read_text(encoding="utf-8", errors="replace")
        for block in re.findall(r'<div class="cell_output.*?</div>\s*</div>', text, flags=re.S):
            if _TRACEBACK.search(block):
                problems.append(f"{page.relative_to(html_dir)} shows a traceback in a cell output")
                break
    return problems
