"""The site as a reader sees it: every page of ``_build/html`` in headless Chromium, offline.

``python -m lmlib check-site`` serves the built site on 127.0.0.1 and visits every page
with Debian's Chromium driven by Python Playwright (never a downloaded browser). On
each page it checks that

* the page loads with no console error and no request leaves the machine;
* every image has loaded (``naturalWidth > 0``);
* no cell output shows a Python traceback;
* MathJax (served with the site) typeset every equation and no raw TeX is left in the text;
* exercise solutions start collapsed;
* each "Open in Colab" / "Student notebook" link points at an ``.ipynb`` under ``notebooks/``
  that exists;
* each scrubber (a matplotlib JavaScript animation) changes its frame when its slider moves;
* every internal link, and its ``#anchor``, resolves.

Problems are reported as ``page: problem``; a screenshot of each failing page goes to
``_build/browser/``. Generic over the table of contents: new chapters are checked as they land.
"""
from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

__all__ = ["find_chromium", "site_pages", "check_links", "check_site"]

# The theme's own script logs this on a first load in a fresh profile: not a page error.
_BENIGN_CONSOLE = ("Got invalid theme mode",)
_COLAB = re.compile(r"^https://colab\.research\.google\.com/github/[^/]+/[^/]+/blob/[^/]+/(?P<path>.+\.ipynb)$")
_RAW_TEX = re.compile(r"\$\$|\\begin\{|\\end\{|\\frac|\\mathbb|\\mathcal|\\left[(\[|]|\\sum_|\\\(|\\\[")
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|PredictionFailed|Error\b.*\n.*Cell In\[")


def find_chromium() -> str | None:
    """Path of a system Chromium (``/usr/bin/chromium`` on Debian), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def site_pages(html_dir: str | Path) -> list[Path]:
    """The HTML pages of a built site (not search, genindex or the static files)."""
    html_dir = Path(html_dir)
    skip = {"search.html", "genindex.html", "py-modindex.html"}
    pages = [p for p in html_dir.rglob("*.html")
             if not ({"_static", "_sources", "_images", "_sphinx_design_static"} & set(p.relative_to(html_dir).parts))
             and p.name not in skip]
    # Redirect stubs (the root index.html sends readers to the first chapter) have no page of their own.
    return sorted(p for p in pages if 'http-equiv="refresh"' not in p.read_text(encoding="utf-8", errors="replace")[:2000].lower())


class _Anchors(HTMLParser):
    """Collects ids/names (anchor targets) and hrefs of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])


@functools.lru_cache(maxsize=None)
def _parse(path: Path) -> _Anchors:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def check_links(html_dir: str | Path, book_root: str | Path) -> list[str]:
    """Static checks of every page's links: internal targets and anchors, Colab notebooks.

    Returns ``"page: problem"`` strings (empty when all links resolve).
    """
    html_dir, book_root = Path(html_dir).resolve(), Path(book_root).resolve()
    _parse.cache_clear()
    problems = []
    for page in site_pages(html_dir):
        rel = page.relative_to(html_dir).as_posix()
        for href in _parse(page).hrefs:
            m = _COLAB.match(href)
            if m:
                target = book_root / m["path"]
                if not target.is_file():
                    problems.append(f"{rel}: notebook link points at {m['path']}, which does not exist")
                continue
            url = urlparse(href)
            if url.scheme or href.startswith(("//", "mailto:", "javascript:")):
                continue  # external: not followed (there is no network)
            path_part, frag = unquote(url.path), unquote(url.fragment)
            target = (page.parent / path_part).resolve() if path_part else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{rel}: link {href!r} points at a missing file")
                continue
            if frag and target.suffix == ".html" and frag not in _parse(target).ids:
                problems.append(f"{rel}: link {href!r} points at a missing anchor #{frag}")
    return problems


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the CI log to the problems
        pass


def _serve(html_dir: Path):
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


_PAGE_CHECKS = """
async () => {
  const out = {};
  const imgs = Array.from(document.images);
  out.broken_images = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src') || '?');
  out.outputs = Array.from(document.querySelectorAll('.cell_output')).map(e => e.innerText);
  out.math_nodes = document.querySelectorAll('.math, div.math, span.math').length;
  out.typeset = document.querySelectorAll('mjx-container').length;
  const clone = document.querySelector('main') ? document.querySelector('main').cloneNode(true) : document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, mjx-container, script, style, .highlight, .cell_output, textarea').forEach(e => e.remove());
  out.text = clone.innerText;
  out.open_solutions = Array.from(document.querySelectorAll('.solution.dropdown, details.solution'))
      .filter(s => { if (s.tagName === 'DETAILS') return s.open;
                     const body = Array.from(s.children).filter(c => !c.classList.contains('admonition-title'));
                     return body.some(c => c.offsetParent !== null && c.getBoundingClientRect().height > 0); })
      .map(s => (s.querySelector('.admonition-title') || s).innerText.slice(0, 60));
  out.n_solutions = document.querySelectorAll('.solution.dropdown, details.solution').length;
  return out;
}
"""

_SCRUBBERS = """
async () => {
  const results = [];
  for (const anim of document.querySelectorAll('div.animation')) {
    const img = anim.querySelector('img');
    const slider = anim.querySelector('input[type=range]');
    if (!img || !slider) { results.push('a scrubber has no image or slider'); continue; }
    const before = img.getAttribute('src');
    slider.value = String(Math.max(1, Math.floor(Number(slider.max) / 2)));
    slider.dispatchEvent(new Event('input', {bubbles: true}));
    slider.dispatchEvent(new Event('change', {bubbles: true}));
    await new Promise(r => setTimeout(r, 100));
    results.push(img.getAttribute('src') !== before ? 'ok' : 'the frame did not change when the slider moved');
  }
  return results;
}
"""


def check_site(html_dir: str | Path, book_root: str | Path, *, screenshots: str | Path | None = None,
               chromium: str | None = None, timeout_ms: int = 30000) -> list[str]:
    """Visit every page of the built site in headless Chromium; return ``"page: problem"`` strings.

    Args:
        html_dir: the built site (``_build/html``).
        book_root: the book's root (where ``notebooks/`` lives).
        screenshots: folder for screenshots of failing pages (default ``<html_dir>/../browser``).
        chromium: the browser executable (default: :func:`find_chromium`).
        timeout_ms: time allowed for a page to load and typeset.

    Raises:
        FileNotFoundError: no built site, or no Chromium (``apt-get install chromium``).
        ImportError: Playwright is missing (``pip install playwright``; no browser download needed).
    """
    from playwright.sync_api import sync_playwright

    html_dir, book_root = Path(html_dir).resolve(), Path(book_root).resolve()
    pages = site_pages(html_dir)
    if not pages:
        raise FileNotFoundError(f"no pages under {html_dir}: build the book first")
    chromium = chromium or find_chromium()
    if not chromium:
        raise FileNotFoundError("no Chromium found: apt-get install chromium (Debian)")
    shots = Path(screenshots) if screenshots else html_dir.parent / "browser"
    problems = check_links(html_dir, book_root)
    server = _serve(html_dir)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=chromium, headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync"])
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            for path in pages:
                rel = path.relative_to(html_dir).as_posix()
                found = _check_page(context, base + rel, rel, timeout_ms)
                if found:
                    shots.mkdir(parents=True, exist_ok=True)
                    problems += found
                    try:
                        context.pages[-1].screenshot(path=str(shots / (rel.replace("/", "__") + ".png")),
                                                     full_page=True)
                    except Exception:  # a screenshot is a courtesy, not a check
                        pass
                for p in context.pages:
                    p.close()
            browser.close()
    finally:
        server.shutdown()
    return problems


def _check_page(context, url: str, rel: str, timeout_ms: int) -> list[str]:
    problems: list[str] = []
    page = context.new_page()
    local = urlparse(url).netloc

    def on_request(route):
        if urlparse(route.request.url).netloc in (local, ""):
            route.continue_()
        else:
            problems.append(f"{rel}: requests {route.request.url} from the network (offline it fails)")
            route.abort()

    page.route("**/*", on_request)
    page.on("console", lambda msg: msg.type == "error" and not any(b in msg.text for b in _BENIGN_CONSOLE)
            and problems.append(f"{rel}: console error: {msg.text[:200]}"))
    page.on("pageerror", lambda err: problems.append(f"{rel}: script error: {str(err)[:200]}"))
    try:
        page.goto(url, wait_until="load", timeout=timeout_ms)
        page.wait_for_function("() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)",
                               timeout=timeout_ms)
        page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
        info = page.evaluate(_PAGE_CHECKS)
    except Exception as err:
        return problems + [f"{rel}: did not load and typeset in time ({type(err).__name__}: {str(err)[:120]})"]
    for src in info["broken_images"]:
        problems.append(f"{rel}: image {src} did not load")
    for text in info["outputs"]:
        if _TRACEBACK.search(text):
            problems.append(f"{rel}: a cell output shows a traceback: {text.strip()[:120]!r}")
    if info["math_nodes"] and info["typeset"] == 0:
        problems.append(f"{rel}: {info['math_nodes']} equations but MathJax typeset none")
    m = _RAW_TEX.search(info["text"])
    if m:
        at = info["text"][max(0, m.start() - 40): m.end() + 40].replace("\n", " ")
        problems.append(f"{rel}: raw TeX left in the page: ...{at}...")
    for title in info["open_solutions"]:
        problems.append(f"{rel}: a solution is not collapsed ({title!r})")
    for result in page.evaluate(_SCRUBBERS):
        if result != "ok":
            problems.append(f"{rel}: {result}")
    return problems
