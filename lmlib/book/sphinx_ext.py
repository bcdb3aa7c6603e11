"""Sphinx extension of the book.

1. An "Open in Colab" badge under the title of every executable chapter. The URL is
   derived from the repository setting in ``_config.yml`` by
   ``lmlib.book.notebooks.colab_url`` (one place for it), and points at the generated
   ``notebooks/<chapter>.ipynb`` — Colab cannot open MyST markdown. A second link
   opens the student notebook (solutions removed).
2. Pages marked ``lmlib: {always_rebuild: true}`` in their front matter (the
   scoreboard, the status page) are re-read on every build, even incremental ones,
   so they always show the current build's results.
3. After each page is read, how myst-nb executed it (run time, ran or cached) is
   written to ``_build/status.json`` for the status page and ``python -m lmlib build``.
"""
from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes


def _add_pdf_link(app, doctree) -> None:
    # The front page links the PDF, which `python -m lmlib build --pdf` puts beside the site
    # (it does not exist while Sphinx runs, so a MyST link to it could not resolve).
    import os

    from lmlib.book.build import PDF_NAME

    if app.builder.format != "html" or app.env.docname != app.config.root_doc:
        return
    href = os.path.relpath(PDF_NAME, os.path.dirname(app.env.docname) or ".")
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is not None and section.children:
        section.insert(1, nodes.raw("", f'<div class="lm-badges"><a class="lm-pdf" href="{href}">'
                                        "The whole book as a PDF</a></div>", format="html"))


def _add_badges(app, doctree) -> None:
    from lmlib.book.notebooks import chapter_sources, colab_url

    root = Path(app.srcdir)
    source = Path(app.env.doc2path(app.env.docname))
    if source.resolve() not in {p.resolve() for p in chapter_sources(root)}:
        return
    url = colab_url(source, root)
    student = colab_url(source, root, student=True)
    html = (
        '<div class="lm-badges">'
        f'<a class="lm-colab" href="{url}">Open in Colab</a>'
        f'<a class="lm-student" href="{student}">Student notebook (no solutions)</a>'
        "</div>"
    )
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not section.children:
        return
    section.insert(1, nodes.raw("", html, format="html"))


def _always_rebuild(app, env, added, changed, removed) -> list[str]:
    import yaml

    out = []
    for docname in env.found_docs:
        path = Path(env.doc2path(docname))
        if path.suffix != ".md" or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if not text.startswith("---"):
            continue
        header = yaml.safe_load(text.split("---", 2)[1]) or {}
        if isinstance(header, dict) and (header.get("lmlib") or {}).get("always_rebuild"):
            out.append(docname)
    return out


def _record_execution(app, doctree) -> None:
    import json

    from lmlib.book.scoreboard import STATUS_FILE

    data = (getattr(app.env, "nb_metadata", {}) or {}).get(app.env.docname, {}).get("exec_data")
    if not data:
        return
    path = Path(app.outdir).parent / STATUS_FILE    # outdir is _build/html
    try:
        table = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except json.JSONDecodeError:
        table = {}
    row = {k: data.get(k) for k in ("runtime", "succeeded", "mtime")}
    # myst-nb says "cache" both for a notebook it executed into the cache now and for one it
    # found there: what tells them apart is whether the execution happened during this build.
    started = getattr(app, "_lmlib_started", 0.0)
    row["method"] = "inline" if (data.get("mtime") or 0.0) >= started - 1.0 else "cache"
    table[app.env.docname] = row
    path.write_text(json.dumps(table, indent=1, sort_keys=True), encoding="utf-8")


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    # sphinx-thebe 0.3.1 and sphinx-togglebutton add their inline scripts twice under this
    # Sphinx (`const THEBE_JS_URL` declared twice is a script error on every page). Keep the
    # first of each.
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        # Same file or inline body, whatever the priority it was added with the second time.
        # (An inline script's filename is None one time and "" the other.)
        key = (getattr(js, "filename", str(js)) or "", repr(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    scripts[:] = kept


def _api_directive():
    from docutils.parsers.rst import Directive

    class LmlibApi(Directive):
        """``{lmlib-api}``: the API reference of every lmlib module (see :mod:`lmlib.book.api`)."""

        has_content = False

        def run(self):
            from docutils.statemachine import StringList

            from lmlib.book.api import api_markdown

            node = nodes.container(classes=["lm-api"])
            source = api_markdown().splitlines()
            self.state.nested_parse(StringList(source, source="lmlib-api"), self.content_offset, node)
            return [node]

    return LmlibApi


_LITERAL = re.compile(r"(``.+?``)")


def _escape_bars(app, what, name, obj, options, lines) -> None:
    # Docstrings write absolute values and norms as |x| (plain text reads best in a terminal);
    # reStructuredText would take |x| for a substitution. Escape bars outside inline literals.
    for i, line in enumerate(lines):
        if "|" in line:
            parts = _LITERAL.split(line)
            lines[i] = "".join(p if p.startswith("``") else p.replace("|", "\\|") for p in parts)


def _resolve_reexports(app, env, node, contnode):
    # `lmlib.seed` is `lmlib.config.seed`, documented once where it is defined (lmlib.book.api):
    # resolve a reference to any re-export, or to a bare name of lmlib, to that definition.
    import importlib

    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target:
        return None
    candidates = [target] if target.startswith("lmlib.") else [
        f"{mod}.{target}" for mod in ("lmlib.ntk", "lmlib.metrics", "lmlib.train", "lmlib.ensemble")]
    for dotted in candidates:
        module, _, attr = dotted.rpartition(".")
        try:
            obj = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError, ValueError):
            continue
        home = getattr(obj, "__module__", None)
        if not home or f"{home}.{attr}" == target:
            continue
        real = f"{home}.{getattr(obj, '__qualname__', attr)}"
        domain = env.get_domain("py")
        return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], real, node, contnode)
    return None


def _note_start(app) -> None:
    import time

    app._lmlib_started = time.time()


def setup(app):
    app.connect("builder-inited", _note_start)
    app.connect("autodoc-process-docstring", _escape_bars)
    app.connect("missing-reference", _resolve_reexports)
    app.add_directive("lmlib-api", _api_directive())
    app.connect("html-page-context", _dedupe_scripts, priority=100)  # emit_firstresult: run early
    app.connect("doctree-read", _add_badges)
    app.connect("doctree-read", _add_pdf_link)
    app.connect("doctree-read", _record_execution)
    app.connect("env-get-outdated", _always_rebuild)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
