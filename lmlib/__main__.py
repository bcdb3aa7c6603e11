"""Command line: ``python -m lmlib <command>`` (or the ``lmlib`` script).

Commands:
    notebooks   regenerate the Colab and student notebooks under ``notebooks/``
                (``--check``: write nothing, exit 1 if any is missing or out of date).
    build       build the book (clearing the execution cache when lmlib changed),
                then check that every prediction passed and no page shows a traceback.
    scoreboard  print the last build's predictions as a table (``--check``: exit 1 on any failure).
    verify      rerun chapters headless (no website) on a seed, scale and device of your
                choice, and compare their predictions with the last build's.
    grade       run students' notebooks headless, one at a time, and tabulate which exercise
                checks passed, failed or were not attempted (``--csv`` for a class sheet).
    check-site  visit every page of the built site in headless Chromium, offline, and report
                console errors, broken images, tracebacks, raw TeX, open solutions, dead
                notebook links, frozen scrubbers and unresolved links.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence


def _notebooks(args: argparse.Namespace) -> int:
    from lmlib.book.notebooks import write_notebooks

    root = Path(args.root)
    paths = write_notebooks(root, args.out, check=args.check)
    shown = sorted(str(p.relative_to(root)) if p.is_relative_to(root) else str(p) for p in paths)
    if args.check:
        if shown:
            print("Out of date (run `python -m lmlib notebooks` to regenerate):", file=sys.stderr)
            print("\n".join(f"  {p}" for p in shown), file=sys.stderr)
            return 1
        print("Notebooks are up to date.")
        return 0
    print("\n".join(f"updated {p}" for p in shown) if shown else "Notebooks are up to date.")
    return 0


def _build(args: argparse.Namespace) -> int:
    from lmlib.book.build import build, build_only

    if args.only:
        return build_only(args.root, args.only, strict=not args.lenient)
    return build(args.root, strict=not args.lenient, pdf=args.pdf)


def _scoreboard(args: argparse.Namespace) -> int:
    from lmlib.book.build import check_scoreboard
    from lmlib.book.chapters import toc_chapters
    from lmlib.book.scoreboard import book_records, scoreboard_markdown

    root = Path(args.root)
    print(scoreboard_markdown(book_records(root), toc_chapters(root), root))
    if args.check:
        problems = check_scoreboard(root)
        for p in problems:
            print("✗", p, file=sys.stderr)
        return 1 if problems else 0
    return 0


def _verify(args: argparse.Namespace) -> int:
    from lmlib.book.verify import verify

    status, _ = verify(args.chapters, root=args.root, seed=args.seed, scale=args.scale,
                       device=args.device, timeout=args.timeout)
    return status


def _check_site(args: argparse.Namespace) -> int:
    from lmlib.book.browser import check_site

    root = Path(args.root).resolve()
    html = Path(args.html).resolve() if args.html else root / "_build" / "html"
    problems = check_site(html, root, chromium=args.chromium)
    for p in problems:
        print("✗", p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s); screenshots of the failing pages are in "
              f"{html.parent / 'browser'}", file=sys.stderr)
        return 1
    from lmlib.book.browser import site_pages

    print(f"All {len(site_pages(html))} pages pass the browser checks.")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from lmlib.book.grade import grade, grade_table, write_csv

    results = grade(args.paths, timeout=args.timeout)
    print(grade_table(results))
    if args.csv:
        write_csv(results, args.csv)
        print(f"wrote {args.csv}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lmlib", description="lmlib's command line tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    nb = commands.add_parser("notebooks", help="generate Colab and student notebooks from the chapters")
    nb.add_argument("--root", default=".", help="book root holding _config.yml and _toc.yml (default: .)")
    nb.add_argument("--out", default="notebooks", help="output folder, relative to --root (default: notebooks)")
    nb.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything is out of date")
    nb.set_defaults(func=_notebooks)

    bd = commands.add_parser("build", help="build the book and check its predictions and pages")
    bd.add_argument("--root", default=".", help="book root (default: .)")
    bd.add_argument("--lenient", action="store_true", help="do not turn Sphinx warnings into errors")
    bd.add_argument("--pdf", action="store_true",
                    help="also build the PDF (needs xelatex: see .ci/run) and put it beside the site")
    bd.add_argument("--only", nargs="+", metavar="CHAPTER",
                    help="build just these chapters (names or .md paths) into _build/only/, for authors")
    bd.set_defaults(func=_build)

    sb = commands.add_parser("scoreboard", help="print the last build's predictions")
    sb.add_argument("--root", default=".", help="book root (default: .)")
    sb.add_argument("--check", action="store_true", help="exit 1 if a prediction failed or a chapter recorded none")
    sb.set_defaults(func=_scoreboard)

    vf = commands.add_parser(
        "verify", help="rerun chapters headless and check their predictions",
        description="Run chapters from their jupytext sources in a fresh kernel each (no website), "
                    "print each chapter's predictions beside the last book build's, and exit 1 if "
                    "any prediction fails or a chapter raises. Records go to _build/verify/.",
        epilog="examples:\n  python -m lmlib verify --chapters deep_linear --seed 3\n"
               "  python -m lmlib verify --scale full --device cuda      # every chapter, on a GPU",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    vf.add_argument("--chapters", nargs="+", metavar="NAME",
                    help="chapter names (deep_linear, 01_solvable/deep_linear) or .md paths; default: all in _toc.yml")
    vf.add_argument("--seed", type=int, default=None, help="LMLIB_SEED for the runs (default: $LMLIB_SEED or 0)")
    vf.add_argument("--scale", choices=["quick", "full"], default=None, help="LMLIB_SCALE (default: $LMLIB_SCALE or quick)")
    vf.add_argument("--device", default=None, help="LMLIB_DEVICE, e.g. cpu or cuda (default: CUDA when present)")
    vf.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell (default: 900)")
    vf.add_argument("--root", default=".", help="book root (default: .)")
    vf.set_defaults(func=_verify)

    gr = commands.add_parser(
        "grade", help="grade student notebooks by their lmlib.exercises checks",
        description="Execute each student notebook headless, one at a time, in a fresh kernel with a "
                    "time limit, and report for each student and exercise whether its lmlib.exercises "
                    "check passed, failed or was not attempted. A notebook that raises, hangs or is "
                    "malformed is reported as such; the others still run.",
        epilog="examples:\n  python -m lmlib grade submissions/ --csv grades.csv\n"
               "  python -m lmlib grade alice.ipynb bob.ipynb --timeout 300\n\n"
               "Students work in the student notebooks under notebooks/student/: after each code "
               "exercise there is an answer cell and its check.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    gr.add_argument("paths", nargs="+", metavar="NOTEBOOK_OR_FOLDER", help=".ipynb files or folders of them")
    gr.add_argument("--csv", default=None, metavar="FILE", help="also write the table as CSV")
    gr.add_argument("--timeout", type=int, default=600, help="seconds allowed per notebook (default: 600)")
    gr.set_defaults(func=_grade)

    cs = commands.add_parser("check-site", help="check every page of the built site in headless Chromium")
    cs.add_argument("--root", default=".", help="book root (default: .)")
    cs.add_argument("--html", default=None, help="the built site (default: <root>/_build/html)")
    cs.add_argument("--chromium", default=None, help="browser executable (default: chromium on PATH)")
    cs.set_defaults(func=_check_site)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 out of date, 2 bad input)."""
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
