"""Chapters (jupytext MyST ``.md``) → Colab ``.ipynb`` and student ``.ipynb``.

The book's chapters are written once, as MyST notebooks under ``chapters/``. Readers who
want to run them on a GPU open a generated copy in Colab, where MyST directives and roles
do not render, so the markdown is rewritten to plain Jupyter markdown (``{math}`` → ``$$``,
``{cite}`` → ``[key]``, exercises → a bold heading and the body). The student copy is the
same notebook with every solution removed, not hidden: a dropdown can be opened, a
deleted cell cannot.

Output is deterministic (no timestamps, cell ids hashed from content), so a test can
regenerate the notebooks and compare bytes: ``python -m lmlib notebooks --check``.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, NamedTuple
from urllib.parse import urlparse

import jupytext
import nbformat
import yaml

__all__ = ["chapter_sources", "colab_notebook", "student_notebook", "write_notebooks", "colab_url"]

# ---------------------------------------------------------------- book configuration


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{path.name} not found in the book root {path.parent}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a YAML mapping")
    return data


class _Repo(NamedTuple):
    url: str        # https://github.com/<org>/<repo>
    slug: str       # <org>/<repo>
    branch: str     # Jupyter Book's own default is "master"; ours is "main"
    book_dir: str   # repository.path_to_book with a trailing slash, or ""


def _repository(book_root: Path) -> _Repo:
    """The book's GitHub repository, from ``_config.yml`` ``repository:`` (Colab opens from GitHub)."""
    config = _read_yaml(book_root / "_config.yml")
    repo = config.get("repository") or {}
    url = str(repo.get("url") or "").strip().rstrip("/")
    if not url:
        raise ValueError(f"{book_root / '_config.yml'} has no repository.url (e.g. https://github.com/org/repo)")
    parsed = urlparse(url)
    parts = parsed.path.strip("/").removesuffix(".git").split("/")
    if parsed.scheme not in ("http", "https") or parsed.netloc not in ("github.com", "www.github.com") \
            or len(parts) != 2 or not all(parts):
        raise ValueError(f"repository.url in _config.yml must be https://github.com/<org>/<repo>, got {url!r}")
    slug, book_dir = "/".join(parts), str(repo.get("path_to_book") or "").strip("/")
    return _Repo(f"https://github.com/{slug}", slug, str(repo.get("branch") or "main"),
                 book_dir + "/" if book_dir else "")


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*$", re.S | re.M)
_CODE_CELL = re.compile(r"^\s*`{3,}\s*\{code-cell\}", re.M)


def _is_notebook(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    m = _FRONT_MATTER.match(text)
    header = yaml.safe_load(m.group(1)) if m else None
    if not (isinstance(header, dict) and "jupytext" in header and _CODE_CELL.search(text)):
        return False
    # Build-only pages (the scoreboard) say `lmlib: {notebook: false}`: nothing to run on Colab.
    return (header.get("lmlib") or {}).get("notebook", True) is not False


def _toc_files(entry: object) -> Iterator[str]:
    """``file:`` entries of a Jupyter Book 1 ``_toc.yml`` node, depth first, in order."""
    if isinstance(entry, list):
        for item in entry:
            yield from _toc_files(item)
    elif isinstance(entry, dict):
        if "file" in entry:
            yield str(entry["file"])
        for key in ("parts", "chapters", "sections"):
            yield from _toc_files(entry.get(key))


def chapter_sources(book_root: str | Path) -> list[Path]:
    """The chapters listed in ``_toc.yml`` that are jupytext notebooks, in table-of-contents order.

    Args:
        book_root: folder holding ``_toc.yml`` and ``_config.yml``.

    Returns:
        Paths of the ``.md`` files (root, parts, chapters and nested sections) that have a
        jupytext header and at least one ``{code-cell}``, except pages whose front matter
        says ``lmlib: {notebook: false}`` (pages that only make sense in the build).
    """
    root = Path(book_root)
    toc = _read_yaml(root / "_toc.yml")
    if "root" not in toc:
        raise ValueError(f"{root / '_toc.yml'} has no 'root:' entry")
    sources: list[Path] = []
    for name in [str(toc["root"]), *_toc_files(toc)]:
        path = root / (name if name.endswith(".md") else name + ".md")
        if path.is_file() and path not in sources and _is_notebook(path):
            sources.append(path)
    return sources


def _relative(md_path: Path, book_root: Path) -> Path:
    """Where a chapter's notebook lives under ``notebooks/``: its path below ``chapters/``."""
    md_path, book_root = Path(md_path).resolve(), Path(book_root).resolve()
    base = book_root / "chapters"
    return md_path.relative_to(base if base in md_path.parents else book_root).with_suffix(".ipynb")


def colab_url(md_path: str | Path, book_root: str | Path, *, student: bool = False) -> str:
    """The "Open in Colab" address of a chapter's generated notebook.

    Args:
        md_path: the chapter's ``.md`` file.
        book_root: folder holding ``_config.yml`` (its ``repository.url`` must be on github.com).
        student: link the student notebook (solutions removed) instead.

    Raises:
        ValueError: ``repository.url`` is missing or not a GitHub repository address.
    """
    repo = _repository(Path(book_root))
    rel = _relative(Path(md_path), Path(book_root))
    rel = Path("student", rel) if student else rel
    return (f"https://colab.research.google.com/github/{repo.slug}/blob/{repo.branch}/"
            f"{repo.book_dir}notebooks/{rel.as_posix()}")


# ---------------------------------------------------------------- MyST block parsing

_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,}|:{3,})\s*(?P<info>.*?)\s*$")
_DIRECTIVE = re.compile(r"^\{(?P<name>[\w:.-]+)\}\s*(?P<arg>.*)$")
_OPTION = re.compile(r"^\s*:(?P<key>[\w-]+):(?:\s+(?P<value>.*))?$")
_TARGET = re.compile(r"^\s*\((?P<label>[^()\s]+)\)=\s*$")
_DOLLAR_LABEL = re.compile(r"^\s*\$\$\s*\((?P<label>[^()\s]+)\)\s*$")
_HEADING = re.compile(r"^#{1,6}\s+(?P<text>.+?)\s*#*\s*$")
# Directive bodies that are not markdown (so not searched for nested directives).
_LITERAL = {"math", "code", "code-block", "sourcecode", "raw", "literalinclude", "mermaid"}
_DROPPED = {"bibliography", "tableofcontents", "raw", "glue:figure", "glue:math", "exercise-end"}
_ADMONITIONS = {"note", "tip", "hint", "important", "warning", "caution", "attention", "danger",
                "error", "seealso", "admonition", "dropdown", "margin", "sidebar", "topic", "tab-item"}


@dataclass
class _Block:
    """A fenced block: a directive when ``name`` is set, else a plain code fence (kept verbatim)."""
    lines: list[str]           # the source lines, opening and closing fence included
    name: str | None
    arg: str
    options: dict[str, str]
    body: list[str]            # lines after the options
    closed: bool               # False when the cell ended before the closing fence


def _is_close(line: str, fence: str) -> bool:
    s = line.strip()
    return len(s) >= len(fence) and set(s) == {fence[0]}


def _parse(lines: list[str]) -> list[str | _Block]:
    """Split markdown lines into plain lines and fenced blocks (CommonMark fence rules)."""
    nodes: list[str | _Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        fence, info = (m["fence"], m["info"]) if m else ("", "")
        directive = _DIRECTIVE.match(info)
        if not m or (fence[0] == ":" and not directive) or (fence[0] == "`" and "`" in info):
            nodes.append(lines[i])
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not _is_close(lines[j], fence):
            j += 1
        body, options = lines[i + 1:j], {}
        if directive:
            if body and body[0].strip() == "---" and "---" in [b.strip() for b in body[1:]]:
                end = 1 + [b.strip() for b in body[1:]].index("---")
                options = {str(k): str(v) for k, v in (yaml.safe_load("\n".join(body[1:end])) or {}).items()}
                body = body[end + 1:]
            while body and (opt := _OPTION.match(body[0])):
                options[opt["key"]] = (opt["value"] or "").strip()
                body = body[1:]
        nodes.append(_Block(lines[i:j + 1], directive["name"] if directive else None,
                            directive["arg"].strip() if directive else info, options, body, j < len(lines)))
        i = j + 1
    return nodes


def _walk(nodes: list[str | _Block]) -> Iterator[str | _Block]:
    for node in nodes:
        yield node
        if isinstance(node, _Block) and node.name and node.name not in _LITERAL:
            yield from _walk(_parse(node.body))


# ---------------------------------------------------------------- MyST → Jupyter markdown

@dataclass
class _Context:
    md_path: Path
    book_root: Path
    student: bool
    equations: dict[str, int] = field(default_factory=dict)   # label → number, in page order
    titles: dict[str, str] = field(default_factory=dict)      # label → text for {ref}
    in_solution: bool = False                                  # between solution-start and -end


def _collect_labels(cells: list, ctx: _Context) -> None:
    """Number labelled equations as Sphinx does (per page, in order) and title {ref} targets."""
    pending: str | None = None
    for cell in cells:
        if cell.cell_type != "markdown":
            continue
        for node in _walk(_parse(cell.source.splitlines())):
            if isinstance(node, _Block):
                label = node.options.get("label")
                if node.name == "math" and label:
                    ctx.equations.setdefault(label, len(ctx.equations) + 1)
                elif label:
                    ctx.titles[label] = node.arg or (node.name or "").capitalize()
            elif m := _DOLLAR_LABEL.match(node):
                ctx.equations.setdefault(m["label"], len(ctx.equations) + 1)
            elif m := _TARGET.match(node):
                pending = m["label"]
            elif pending and (m := _HEADING.match(node)):
                ctx.titles[pending], pending = m["text"], None


_ROLE_OR_CODE = re.compile(r"(?P<role>\{(?P<name>[\w:.+-]+)\}`(?P<content>[^`]+)`)|(?P<code>(`+).+?\5)")
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)


def _doc_link(target: str, text: str | None, ctx: _Context) -> str:
    base = ctx.book_root if target.startswith("/") else ctx.md_path.parent
    path = (base / target.lstrip("/")).with_suffix(".md")
    title = text
    if path.is_file() and not title:
        title = next((m["text"] for line in path.read_text(encoding="utf-8").splitlines()
                      if (m := _HEADING.match(line)) and line.startswith("# ")), None)
    if path.is_file() and _is_notebook(path):
        return f"[{title or target}]({colab_url(path, ctx.book_root, student=ctx.student)})"
    return title or target


def _role(name: str, content: str, ctx: _Context) -> str:
    explicit = _EXPLICIT.match(content)
    text, target = (explicit["text"], explicit["target"]) if explicit else (None, content)
    if name == "eq":
        return f"({ctx.equations.get(content, content)})"
    if name.startswith(("cite", "footcite")):
        return "[" + ", ".join(k.strip() for k in content.split(",")) + "]"
    if name == "math":
        return f"${content}$"
    if name == "doc":
        return _doc_link(target, text, ctx)
    if name in ("ref", "numref", "any"):
        return text or ctx.titles.get(target, target)
    return text or target  # {term}, {abbr}, {download}, {index}, ...: the visible text


def _roles(line: str, ctx: _Context) -> str:
    """Rewrite MyST roles to plain text, leaving inline code spans alone."""
    def sub(m: re.Match) -> str:
        return m["code"] if m["code"] else _role(m["name"], m["content"], ctx)
    return _ROLE_OR_CODE.sub(sub, line)


def _math(block: _Block, label: str | None, ctx: _Context) -> list[str]:
    # Sphinx puts several blank-line-separated equations (or a bare \\ line break) in one
    # aligned display; Jupyter's $$ ends at a blank line, so join them explicitly.
    paragraphs = [p.strip() for p in "\n".join(block.body).split("\n\n") if p.strip()]
    body = " \\\\\n".join(paragraphs)
    if (len(paragraphs) > 1 or "\\\\" in body) and "\\begin" not in body:
        body = f"\\begin{{aligned}}\n{body}\n\\end{{aligned}}"
    tag = [f"\\tag{{{ctx.equations[label]}}}"] if label in ctx.equations else []
    return ["", "$$", *body.splitlines(), *tag, "$$", ""]


_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)\)")


def _raw_url(target: str, ctx: _Context) -> str:
    # Colab opens the notebook alone, so a relative image path must become an absolute URL.
    if re.match(r"^[a-z]+:", target):
        return target
    repo = _repository(ctx.book_root)
    path = (ctx.md_path.parent / target).resolve().relative_to(ctx.book_root.resolve())
    return f"https://raw.githubusercontent.com/{repo.slug}/{repo.branch}/{repo.book_dir}{path.as_posix()}"


def _render(nodes: list[str | _Block], ctx: _Context) -> list[str]:
    """Jupyter-markdown lines for parsed MyST lines; drops solutions when ``ctx.student``."""
    out: list[str] = []
    for node in nodes:
        if isinstance(node, _Block) and node.name in ("solution-start", "solution-end"):
            starting = node.name == "solution-start"
            if ctx.in_solution == starting:
                raise ValueError(f"{ctx.md_path}: {node.name} without a matching "
                                 f"{'solution-end' if starting else 'solution-start'}")
            ctx.in_solution = starting
            if starting and not ctx.student:
                out += ["", "**Solution**", ""]
        elif ctx.in_solution and ctx.student:
            continue
        elif isinstance(node, str):
            if m := _DOLLAR_LABEL.match(node):
                out += [f"\\tag{{{ctx.equations[m['label']]}}}", "$$"]
            elif not (node.lstrip().startswith("%") or _TARGET.match(node)):  # MyST comment / target
                line = _IMAGE.sub(lambda m: f"![{m['alt']}]({_raw_url(m['src'], ctx)})", node)
                out.append(_roles(line, ctx))
        elif node.name is None:
            out += node.lines                                            # plain code fence
        elif node.name == "math":
            out += _math(node, node.options.get("label"), ctx)
        elif node.name in ("code", "code-block", "sourcecode"):
            ticks = "`" * max(3, 1 + max((len(t) for t in re.findall(r"`+", "\n".join(node.body))), default=0))
            out += [ticks + node.arg, *node.body, ticks]
        elif node.name in _DROPPED or node.name.startswith("glue"):
            continue
        elif node.name == "solution" and not node.closed:
            # jupytext split it at a code cell, which would then leak into the student notebook.
            raise ValueError(f"{ctx.md_path}: a {{solution}} that contains code cells must be written "
                             "as a solution-start / solution-end pair")
        elif node.name == "solution" and ctx.student:
            continue
        else:
            if node.name in ("exercise", "exercise-start"):
                heading = f"Exercise ({node.arg})" if node.arg else "Exercise"
            elif node.name == "solution":
                heading = "Solution"
            elif node.name in ("figure", "image"):
                alt = node.options.get("alt", "")
                out += ["", f"![{alt}]({_raw_url(node.arg, ctx)})", ""]
                heading = ""
            elif node.name in _ADMONITIONS:
                heading = node.arg or {"seealso": "See also"}.get(node.name, node.name.capitalize())
            else:
                heading = node.arg
            out += ["", f"**{_roles(heading, ctx)}**", ""] if heading else [""]
            body = node.body if node.name not in _LITERAL else []
            out += [*_render(_parse(body), ctx), ""]
    return out


def _markdown(source: str, ctx: _Context) -> str:
    text = "\n".join(_render(_parse(source.splitlines()), ctx))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


# ---------------------------------------------------------------- notebooks

_INSTALL = '''# Colab: install lmlib if it is missing (keeps Colab's own CUDA torch)
try:
    import lmlib
except ImportError:
    %pip install -q "lmlib @ git+{url}@{branch}"'''

_STUDENT_NOTE = (
    "**Student version.** The solutions to the exercises have been removed from this notebook. "
    "After each exercise that asks for code there is an answer cell (replace `None` with your "
    "answer) and a check from `lmlib.exercises` that tells you whether your answer is right, "
    "without showing the reference answer."
)


_EXERCISE_CHECK = re.compile(
    r"`(?P<call>lmlib\.exercises\.check\(\s*[\"'](?P<id>[\w.]+)[\"']\s*,\s*(?P<var>[A-Za-z_]\w*)\s*\))`")


def _answer_cells(markdown: str) -> list[nbformat.NotebookNode]:
    """For each ``lmlib.exercises.check("id", answer)`` an exercise's text asks for: an answer
    cell (``answer = None`` to replace) and the check itself, ready to run."""
    cells = []
    for m in _EXERCISE_CHECK.finditer(markdown):
        answer = (f"# Exercise {m['id']}: your code here. Replace None with your answer.\n"
                  f"{m['var']} = None")
        cells.append(nbformat.v4.new_code_cell(answer, metadata={"tags": ["answer"]}))
        cells.append(nbformat.v4.new_code_cell(f"import lmlib\n\n{m['call']}",
                                               metadata={"tags": ["exercise-check"]}))
    return cells


def _cell_id(cell: nbformat.NotebookNode, seen: set[str]) -> str:
    # Content hashes, not positions: inserting one cell does not renumber every other one.
    base = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:12]
    cid, n = base, 1
    while cid in seen:
        n += 1
        cid = f"{base}-{n}"
    seen.add(cid)
    return cid


def _convert(md_path: str | Path, book_root: str | Path, *, student: bool) -> nbformat.NotebookNode:
    md_path, book_root = Path(md_path), Path(book_root)
    repo = _repository(book_root)
    source = jupytext.read(md_path, fmt="md:myst")
    ctx = _Context(md_path, book_root, student)
    _collect_labels(source.cells, ctx)

    v4 = nbformat.v4
    cells = [v4.new_markdown_cell(_STUDENT_NOTE)] if student else []
    cells.append(v4.new_code_cell(_INSTALL.format(url=repo.url, branch=repo.branch)))
    for cell in source.cells:
        tags = list(cell.metadata.get("tags", []))
        metadata = {"tags": tags} if tags else {}
        if "remove-cell" in tags:
            continue
        if cell.cell_type == "markdown":
            text = _markdown(cell.source, ctx)
            if text:
                cells.append(v4.new_markdown_cell(text, metadata=metadata))
                if student:
                    cells += _answer_cells(text)
        elif ctx.in_solution and student:
            continue
        elif cell.cell_type == "code":
            cells.append(v4.new_code_cell(cell.source, metadata=metadata))
        else:
            cells.append(v4.new_raw_cell(cell.source, metadata=metadata))
    if ctx.in_solution:
        raise ValueError(f"{md_path}: solution-start without a matching solution-end")

    seen: set[str] = set()
    for cell in cells:
        cell.id = _cell_id(cell, seen)
    nb = v4.new_notebook(cells=cells)
    nb.metadata = {
        "accelerator": "GPU",
        "colab": {"provenance": [], "gpuType": "T4"},
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    return nb


def colab_notebook(md_path: str | Path, book_root: str | Path) -> nbformat.NotebookNode:
    """A chapter as a Colab-ready notebook: plain markdown, no outputs, solutions kept.

    Args:
        md_path: the chapter's jupytext MyST ``.md`` file.
        book_root: folder holding ``_config.yml`` (its ``repository`` gives the install URL).

    Returns:
        An nbformat v4 notebook whose first cell installs lmlib when it is missing.

    Raises:
        ValueError: bad ``repository.url``, or an unmatched ``solution-start``/``solution-end``.
    """
    return _convert(md_path, book_root, student=False)


def student_notebook(md_path: str | Path, book_root: str | Path) -> nbformat.NotebookNode:
    """Like :func:`colab_notebook`, but every solution (``{solution}`` blocks and everything
    between ``solution-start`` and ``solution-end``, code cells included) removed."""
    return _convert(md_path, book_root, student=True)


def _text(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb, version=4) + "\n"  # sorted keys, indent 1: byte-stable


def write_notebooks(book_root: str | Path, out_dir: str | Path = "notebooks", *,
                    check: bool = False) -> list[Path]:
    """Write ``<out_dir>/<chapter>.ipynb`` and ``<out_dir>/student/<chapter>.ipynb`` for every chapter.

    Files whose content is unchanged are not touched, and ``.ipynb`` files in ``out_dir`` that no
    chapter produces any more are deleted (``out_dir`` holds generated files only).

    Args:
        book_root: folder holding ``_config.yml`` and ``_toc.yml``.
        out_dir: output folder, relative to ``book_root`` unless absolute.
        check: write nothing; only report what is out of date.

    Returns:
        The files that were (or, with ``check``, would be) created, updated or deleted.
    """
    root = Path(book_root)
    out = root / out_dir
    wanted: dict[Path, str] = {}
    for md in chapter_sources(root):
        rel = _relative(md, root)
        wanted[out / rel] = _text(colab_notebook(md, root))
        wanted[out / "student" / rel] = _text(student_notebook(md, root))
    changed = [p for p, text in wanted.items()
               if not p.is_file() or p.read_text(encoding="utf-8") != text]
    stale = sorted(p for p in out.rglob("*.ipynb")
                   if p not in wanted and ".ipynb_checkpoints" not in p.parts) if out.is_dir() else []
    if not check:
        for path in changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(wanted[path], encoding="utf-8", newline="\n")
        for path in stale:
            path.unlink()
    return changed + stale
