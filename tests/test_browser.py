"""The browser check on a tiny fake site: what it must catch, and a clean page it must pass."""
from __future__ import annotations

import pytest

from lmlib.book.browser import check_links, check_site, find_chromium, site_pages

GOOD = """<html><head><title>ok</title></head><body><main>
<p>Fine text with no TeX left.</p><a href="other.html#here">there</a>
<a href="https://colab.research.google.com/github/org/repo/blob/main/notebooks/ch.ipynb">Open in Colab</a>
<div class="solution dropdown admonition toggle-hidden"><p class="admonition-title">Solution</p>
<p style="display:none">the answer</p></div>
</main></body></html>"""
OTHER = '<html><body><main><h1 id="here">Here</h1><a href="missing.html">x</a><a href="#nope">y</a></main></body></html>'
BAD = """<html><body><main><p>Raw math: $$\\frac{a}{b}$$</p>
<div class="cell_output"><pre>Traceback (most recent call last):
ValueError: boom</pre></div>
<div class="solution dropdown admonition"><p class="admonition-title">Solution</p><p>the answer, visible</p></div>
<img src="nothing.png"><script>undefined_function()</script></main></body></html>"""


@pytest.fixture
def site(tmp_path):
    html = tmp_path / "_build" / "html"
    html.mkdir(parents=True)
    (html / "good.html").write_text(GOOD)
    (html / "other.html").write_text(OTHER)
    (html / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=good.html" />')
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "ch.ipynb").write_text("{}")
    return tmp_path, html


def test_links_and_anchors(site):
    root, html = site
    assert [p.name for p in site_pages(html)] == ["good.html", "other.html"]   # the redirect is skipped
    problems = check_links(html, root)
    assert problems == ["other.html: link 'missing.html' points at a missing file",
                        "other.html: link '#nope' points at a missing anchor #nope"]
    (root / "notebooks" / "ch.ipynb").unlink()
    assert any("notebooks/ch.ipynb, which does not exist" in p for p in check_links(html, root))


@pytest.mark.skipif(find_chromium() is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_browser_catches_what_a_reader_would_see(site):
    root, html = site
    (html / "other.html").write_text('<html><body><main><h1 id="here">Here</h1></main></body></html>')
    assert check_site(html, root) == []
    (html / "bad.html").write_text(BAD)
    problems = "\n".join(check_site(html, root))
    for expected in ("bad.html: image nothing.png did not load", "traceback", "raw TeX", "not collapsed",
                     "script error"):
        assert expected in problems, expected
    assert (root / "_build" / "browser" / "bad.html.png").is_file()
