"""Sphinx extension: an "Open in Colab" badge under the title of every executable chapter.

The URL is derived from the repository setting in ``_config.yml`` by
``lmlib.notebooks.colab_url`` (one place for it), and points at the generated
``notebooks/<chapter>.ipynb`` — Colab cannot open MyST markdown. A second link
downloads the student notebook (solutions removed).
"""
from __future__ import annotations

from pathlib import Path

from docutils import nodes


def _add_badges(app, doctree) -> None:
    from lmlib.notebooks import chapter_sources, colab_url

    root = Path(app.srcdir)
    source = Path(app.env.doc2path(app.env.docname))
    if source.resolve() not in {p.resolve() for p in chapter_sources(root)}:
        return
    url = colab_url(source, root)
    student = url.replace("/notebooks/", "/notebooks/student/", 1)
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


def setup(app):
    app.connect("doctree-read", _add_badges)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
