"""Which chapters the book has: the table of contents, and names a reader can type.

A chapter's *name* is its path under ``chapters/`` without the extension
(``"01_solvable/deep_linear"``), the name it gives :func:`lmlib.start_chapter` and the
scoreboard. Readers may type the short form (``deep_linear``) or a path to the ``.md``.
"""
from __future__ import annotations

from pathlib import Path

from lmlib.book.notebooks import chapter_sources

__all__ = ["chapter_name", "toc_chapters", "resolve_chapters"]


def chapter_name(md_path: str | Path, book_root: str | Path) -> str:
    """``chapters/01_solvable/deep_linear.md`` → ``"01_solvable/deep_linear"``."""
    md_path, root = Path(md_path).resolve(), Path(book_root).resolve()
    base = root / "chapters"
    rel = md_path.relative_to(base if base in md_path.parents else root)
    return rel.with_suffix("").as_posix()


def toc_chapters(book_root: str | Path) -> dict[str, Path]:
    """Every executable chapter in ``_toc.yml``, name → path, in table-of-contents order."""
    root = Path(book_root)
    return {chapter_name(p, root): p for p in chapter_sources(root)}


def resolve_chapters(names: list[str] | None, book_root: str | Path) -> dict[str, Path]:
    """Chapters named by a reader, name → path; ``None`` or ``[]`` means every chapter in the toc.

    Each name may be a full name (``01_solvable/deep_linear``), a short one (``deep_linear``)
    or a path to a ``.md`` file (which need not be in the table of contents yet).

    Raises:
        ValueError: for a name that matches no chapter or several (the message lists the known ones).
    """
    root = Path(book_root)
    known = toc_chapters(root)
    if not names:
        return dict(known)
    out: dict[str, Path] = {}
    for raw in names:
        name = raw.strip().removesuffix(".md").strip("/")
        as_path = Path(raw)
        if raw.endswith(".md") and (as_path.is_file() or (root / as_path).is_file()):
            path = as_path if as_path.is_file() else root / as_path
            out[chapter_name(path, root)] = path
            continue
        hits = [k for k in known if k == name or k.removeprefix("chapters/") == name
                or k.split("/")[-1] == name]
        if not hits:  # a chapter not (yet) in the toc, found by its file name
            hits_files = sorted((root / "chapters").rglob(f"{name.split('/')[-1]}.md"))
            if len(hits_files) == 1:
                out[chapter_name(hits_files[0], root)] = hits_files[0]
                continue
            raise ValueError(f"no chapter called {raw!r}; the book has: {', '.join(known) or 'none'}")
        if len(hits) > 1:
            raise ValueError(f"{raw!r} is ambiguous: {', '.join(hits)}; give the full name")
        out[hits[0]] = known[hits[0]]
    return out
