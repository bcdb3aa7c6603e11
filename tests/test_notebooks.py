"""lmlib.book.notebooks: MyST chapters → Colab and student notebooks, on a small fake book."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lmlib.book import notebooks as nbm
from lmlib.__main__ import main

FIXTURE = Path(__file__).parent / "fixtures" / "book"
REPO_ROOT = Path(__file__).resolve().parent.parent
MODES = FIXTURE / "chapters" / "01_part" / "modes.md"
GATED = FIXTURE / "chapters" / "01_part" / "more" / "gated.md"

_FENCE = re.compile(r"^\s*(`{3,}|:{3,}|~{3,})")


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A writable copy of the fixture book."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "book"))


def _solution_lines(md: Path) -> list[str]:
    """Non-trivial lines of every solution in a chapter, found from the source text alone."""
    lines, found, i = md.read_text().splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        if "{solution}" in line and (m := _FENCE.match(line)):
            fence, j = m.group(1), i + 1
            while not (lines[j].strip() and set(lines[j].strip()) == {fence[0]}
                       and len(lines[j].strip()) >= len(fence)):
                j += 1
            found += lines[i + 1:j]
            i = j
        elif "{solution-start}" in line:
            j = next(k for k in range(i, len(lines)) if "{solution-end}" in lines[k])
            found += lines[i + 1:j]
            i = j
        i += 1
    return [s.strip() for s in found
            if len(s.strip()) >= 12 and not _FENCE.match(s) and not s.strip().startswith((":", "+++"))]


def _exercise_titles(md: Path) -> list[str]:
    return re.findall(r"\{exercise(?:-start)?\}\s*(.+)", md.read_text())


def _sources(nb: nbformat.NotebookNode, kind: str | None = None) -> list[str]:
    return [c.source for c in nb.cells if kind is None or c.cell_type == kind]


def test_chapter_sources_in_toc_order_and_only_notebooks():
    assert nbm.chapter_sources(FIXTURE) == [MODES, GATED]


@pytest.mark.parametrize("md", [MODES, GATED], ids=["colon-fences", "gated"])
def test_student_notebook_has_no_solution_text_but_every_exercise(md: Path):
    solution = _solution_lines(md)
    assert len(solution) >= 2, "the fixture should contain solutions to look for"
    student = "\n".join(_sources(nbm.student_notebook(md, FIXTURE)))
    colab = "\n".join(_sources(nbm.colab_notebook(md, FIXTURE)))
    for line in solution:
        assert line not in student, f"solution text leaked into the student notebook: {line!r}"
        assert line in colab, f"the Colab notebook lost solution text: {line!r}"
    for title in _exercise_titles(md):
        assert f"**Exercise ({title})**" in student
    assert "after the solution" in student or md == MODES  # cells after a gated solution stay


def test_gated_solution_removes_its_code_cells():
    code = _sources(nbm.student_notebook(GATED, FIXTURE), "code")
    assert not any("reference_exponent" in c for c in code)
    assert any("losses = np.array" in c for c in code)  # the exercise's own cell stays
    assert any("reference_exponent" in c for c in _sources(nbm.colab_notebook(GATED, FIXTURE), "code"))


@pytest.mark.parametrize("make", [nbm.colab_notebook, nbm.student_notebook])
@pytest.mark.parametrize("md", [MODES, GATED], ids=["modes", "gated"])
def test_markdown_has_no_myst_syntax_left(make, md: Path):
    nb = make(md, FIXTURE)
    nbformat.validate(nb)
    for text in _sources(nb, "markdown"):
        for syntax in ("```{", ":::{", ":label:", ":class:", ")=", "% A MyST comment"):
            assert syntax not in text
        assert not re.search(r"\{[\w:.-]+\}`[^`\s]", text), text  # a role such as {cite}`key`
    assert all(not c.get("outputs") for c in nb.cells)


def test_colab_notebook_conversion_rules():
    nb = nbm.colab_notebook(MODES, FIXTURE)
    md = "\n".join(_sources(nb, "markdown"))
    assert "as shown by [saxe2014] and\n[saxe2019, advani2020]; [arora2019] go further" in md
    assert "follows (1)" in md and "\\tag{1}" in md and "(2) is what" in md and "\\tag{3}" in md
    assert "See Modes of a deep linear network,\nthe exercises," in md
    assert "[A chapter with code solutions](https://colab.research.google.com/github/" in md
    assert "inline math $u_0$" in md and "Inline code such as `{cite}` is left alone" in md
    assert "**Exercise (Half-time of a mode)**" in md and "**Solution**" in md
    assert "**Note**" in md and "**Seeds matter**" in md
    everything = "\n".join(_sources(nb))
    assert "secret_setup_for_the_build" not in everything  # remove-cell, code and markdown
    assert "hides entirely" not in everything
    assert {"tags": ["hide-input"]} in [dict(c.metadata) for c in nb.cells if c.cell_type == "code"]
    assert nb.metadata["kernelspec"]["name"] == "python3" and nb.metadata["accelerator"] == "GPU"
    figure = "\n".join(_sources(nbm.colab_notebook(GATED, FIXTURE), "markdown"))
    raw = "https://raw.githubusercontent.com/example-org/example-book/trunk/chapters/01_part/figures/curve.png"
    assert f"![a figure]({raw})" in figure and f"![A learning curve]({raw})" in figure


def test_first_cell_installs_lmlib_from_the_configured_repository():
    first = nbm.colab_notebook(MODES, FIXTURE).cells[0]
    assert first.cell_type == "code"
    assert '"lmlib @ git+https://github.com/example-org/example-book@trunk"' in first.source
    assert "import lmlib" in first.source and "except ImportError" in first.source
    inputtransformer2 = pytest.importorskip("IPython.core.inputtransformer2")
    python = inputtransformer2.TransformerManager().transform_cell(first.source)
    compile(python, "<install cell>", "exec")  # %pip inside try/except is valid IPython
    note, install = nbm.student_notebook(MODES, FIXTURE).cells[:2]
    assert "removed" in note.source and "lmlib.exercises" in note.source
    assert install.source == first.source


def test_write_is_byte_identical_and_check_reports_changes(book: Path, capsys):
    written = nbm.write_notebooks(book)
    out = book / "notebooks"
    assert sorted(written) == sorted([out / "01_part/modes.ipynb", out / "01_part/more/gated.ipynb",
                                      out / "student/01_part/modes.ipynb",
                                      out / "student/01_part/more/gated.ipynb"])
    before = {p: p.read_bytes() for p in written}
    assert nbm.write_notebooks(book) == [] and nbm.write_notebooks(book, check=True) == []
    assert {p: p.read_bytes() for p in written} == before
    assert main(["notebooks", "--root", str(book), "--check"]) == 0

    chapter = book / "chapters/01_part/modes.md"
    chapter.write_text(chapter.read_text().replace("Try three seeds.", "Try five seeds."))
    (out / "renamed_chapter.ipynb").write_text("{}")
    stale = [out / "01_part/modes.ipynb", out / "student/01_part/modes.ipynb", out / "renamed_chapter.ipynb"]
    assert sorted(nbm.write_notebooks(book, check=True)) == sorted(stale)
    assert (out / "01_part/modes.ipynb").read_bytes() == before[out / "01_part/modes.ipynb"]  # untouched
    capsys.readouterr()
    assert main(["notebooks", "--root", str(book), "--check"]) == 1
    err = capsys.readouterr().err
    assert "01_part/modes.ipynb" in err and "renamed_chapter.ipynb" in err and "gated" not in err
    assert main(["notebooks", "--root", str(book)]) == 0
    assert not (out / "renamed_chapter.ipynb").exists()
    assert nbm.write_notebooks(book, check=True) == []


def test_python_dash_m_entry_point(book: Path):
    run = [sys.executable, "-m", "lmlib", "notebooks", "--root", str(book), "--check"]
    result = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "student/01_part/modes.ipynb" in result.stderr


def test_colab_url():
    assert nbm.colab_url(MODES, FIXTURE) == (
        "https://colab.research.google.com/github/example-org/example-book/blob/trunk/"
        "notebooks/01_part/modes.ipynb")
    assert nbm.colab_url(GATED, FIXTURE, student=True).endswith("/trunk/notebooks/student/01_part/more/gated.ipynb")


def test_colab_url_follows_path_to_book_and_accepts_dot_git(book: Path):
    (book / "_config.yml").write_text(
        "repository:\n  url: https://github.com/org/repo.git/\n  path_to_book: docs/book\n")
    assert nbm.colab_url(book / "chapters/01_part/modes.md", book) == (
        "https://colab.research.google.com/github/org/repo/blob/main/docs/book/notebooks/01_part/modes.ipynb")
    install = nbm.colab_notebook(book / "chapters/01_part/modes.md", book).cells[0].source
    assert '"lmlib @ git+https://github.com/org/repo@main"' in install


@pytest.mark.parametrize("url", ["https://gitlab.com/org/repo", "https://github.com/org", "github.com/org/repo"])
def test_non_github_repository_url_is_rejected(book: Path, url: str):
    (book / "_config.yml").write_text(f"repository:\n  url: {url}\n")
    with pytest.raises(ValueError, match="github.com/<org>/<repo>"):
        nbm.colab_url(book / "chapters/01_part/modes.md", book)


def test_missing_inputs_raise_clear_errors(book: Path, capsys):
    (book / "_config.yml").write_text("title: no repository\n")
    with pytest.raises(ValueError, match="repository.url"):
        nbm.colab_notebook(book / "chapters/01_part/modes.md", book)
    (book / "_config.yml").unlink()
    with pytest.raises(FileNotFoundError, match="_config.yml"):
        nbm.student_notebook(book / "chapters/01_part/modes.md", book)
    (book / "_toc.yml").unlink()
    with pytest.raises(FileNotFoundError, match="_toc.yml"):
        nbm.chapter_sources(book)
    assert main(["notebooks", "--root", str(book)]) == 2
    assert "_toc.yml" in capsys.readouterr().err


def test_unclosed_solution_start_names_the_file(book: Path):
    chapter = book / "chapters/01_part/more/gated.md"
    chapter.write_text(chapter.read_text().replace("```{solution-end}\n```\n", ""))
    with pytest.raises(ValueError, match="gated.md.*solution-end"):
        nbm.student_notebook(chapter, book)


def test_book_notebooks_in_sync():
    if not (REPO_ROOT / "_toc.yml").is_file():
        pytest.skip("the book has no _toc.yml yet, so there are no chapter notebooks to check")
    stale = nbm.write_notebooks(REPO_ROOT, check=True)
    assert stale == [], ("generated notebooks are out of date; run `python -m lmlib notebooks`:\n"
                         + "\n".join(str(p) for p in stale))


def test_colon_solution_split_by_a_code_cell_is_refused(book: Path):
    chapter = book / "chapters/01_part/more/gated.md"
    text = chapter.read_text().replace("```{solution-start} ex-fit\n:class: dropdown\n```",
                                       ":::{solution} ex-fit").replace("```{solution-end}\n```", ":::")
    chapter.write_text(text)
    with pytest.raises(ValueError, match="gated.md.*solution-start / solution-end"):
        nbm.student_notebook(chapter, book)


def _real_chapters():
    root = Path(__file__).resolve().parents[1]
    if not (root / "_toc.yml").is_file():
        return []
    return nbm.chapter_sources(root)


def _names(source: str) -> tuple[set[str], set[str]]:
    """Names a code cell binds and names it reads (IPython magics and shell lines dropped)."""
    import ast

    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set(), set()
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) else read).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return bound, read


def _solution_leaks(chapter: Path, root: Path) -> list[str]:
    """Names kept cells of the student notebook read that only a removed solution cell bound."""
    student = nbm.student_notebook(chapter, root)
    kept = {c.source for c in student.cells if c.cell_type == "code"}
    defined: set[str] = set()
    only_in_solutions: set[str] = set()
    problems = []
    for cell in nbm.colab_notebook(chapter, root).cells:
        if cell.cell_type != "code":
            continue
        bound, read = _names(cell.source)
        if cell.source in kept:
            missing = (read & only_in_solutions) - defined
            if missing:
                problems.append(f"a cell reads {sorted(missing)}, defined only in a removed solution")
            defined |= bound
        else:
            only_in_solutions |= bound - defined
    return problems


@pytest.mark.parametrize("chapter", _real_chapters(), ids=lambda p: p.stem)
def test_student_notebook_needs_nothing_a_solution_defined(chapter):
    """Removing solutions must not remove code that later cells need: every name a kept cell
    reads that only a removed solution cell bound is a NameError waiting for the student."""
    assert _solution_leaks(chapter, Path(__file__).resolve().parents[1]) == []


def test_solution_leak_is_detected(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(FIXTURE, book)
    gated = book / GATED.relative_to(FIXTURE)
    assert _solution_leaks(gated, book) == []
    gated.write_text(gated.read_text().replace('print("after the solution")', "print(reference_exponent)"))
    assert _solution_leaks(gated, book) == ["a cell reads ['reference_exponent'], defined only in a removed solution"]


@pytest.mark.slow
def test_a_student_notebook_executes(tmp_path):
    """End to end: the deep-linear student notebook runs top to bottom, answer cells included."""
    import nbclient

    root = Path(__file__).resolve().parents[1]
    nb = nbm.student_notebook(root / "chapters" / "01_solvable" / "deep_linear.md", root)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_student_notebook_has_answer_cells_after_code_exercises():
    """Each `lmlib.exercises.check("id", answer)` an exercise asks for becomes an answer cell
    (answer = None) and the check, which runs and reports "not attempted" until answered."""
    root = Path(__file__).resolve().parents[1]
    md = root / "chapters" / "01_solvable" / "deep_linear.md"
    nb = nbm.student_notebook(md, root)
    answers = [c for c in nb.cells if "answer" in c.metadata.get("tags", [])]
    checks = [c for c in nb.cells if "exercise-check" in c.metadata.get("tags", [])]
    ids = [re.search(r'check\("([\w.]+)"', c.source)[1] for c in checks]
    assert ids == ["deep_linear.halftime_ratio", "deep_linear.plateau_u0", "deep_linear.discrete_map"]
    assert all(a.source.rstrip().endswith("= None") for a in answers)
    i = nb.cells.index(checks[0])
    assert nb.cells[i - 1] is answers[0] and "Exercise" in nb.cells[i - 2].source
    from lmlib import exercises

    scope: dict = {}
    exec(answers[2].source, scope)
    exec(checks[2].source.replace("import lmlib\n", ""), {"lmlib": __import__("lmlib"), **scope})
    assert exercises.check("deep_linear.discrete_map", scope["gd_mode"], quiet=True).status == "not attempted"
    assert not any("answer" in c.metadata.get("tags", []) for c in nbm.colab_notebook(md, root).cells)
