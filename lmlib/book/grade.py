"""``python -m lmlib grade``: run a class's student notebooks and tabulate their exercise checks.

Each notebook is executed headless, one at a time, in a fresh kernel with a time limit.
Every ``lmlib.exercises.check(...)`` it makes reports its verdict to a log (the
``LMLIB_GRADE_LOG`` hook of :func:`lmlib.exercises.check`), so the grade of an exercise is
what the student's own notebook computed, with the reference answer never shown. An
exercise whose check never ran (the notebook stopped before it, or the cell was deleted)
is "not attempted". A notebook that raises, hangs or is not a notebook is reported as
such and never stops the others.
"""
from __future__ import annotations

import csv
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Graded", "find_notebooks", "grade_notebook", "grade", "grade_table", "write_csv"]

_CHECK_ID = re.compile(r"lmlib\.exercises\.check\(\s*[\"']([\w.]+)[\"']")
STATUSES = ("correct", "wrong", "not attempted")


@dataclass
class Graded:
    """One student's notebook: how it ran, and each exercise's verdict."""

    student: str
    path: Path
    run: str                                   # "ok", "raised: …", "timed out after … s", "malformed: …"
    exercises: dict[str, str] = field(default_factory=dict)   # exercise id → one of STATUSES
    seconds: float = 0.0


def find_notebooks(paths: list[str | Path]) -> list[Path]:
    """The ``.ipynb`` files named, or found under the folders named (sorted, checkpoints skipped).

    Raises:
        FileNotFoundError: a path that does not exist, or no notebook found at all.
    """
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found += sorted(q for q in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in q.parts)
        elif p.is_file():
            found.append(p)
        else:
            raise FileNotFoundError(f"{p} does not exist")
    if not found:
        raise FileNotFoundError(f"no .ipynb notebooks in {', '.join(map(str, paths))}")
    return found


def _expected(nb) -> list[str]:
    """Exercise ids the notebook's code cells check, in order."""
    ids: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            for m in _CHECK_ID.finditer(cell.source):
                if m[1] not in ids:
                    ids.append(m[1])
    return ids


def grade_notebook(path: str | Path, *, timeout: int = 600, student: str | None = None) -> Graded:
    """Execute one notebook in a fresh kernel and collect its exercise verdicts.

    Args:
        path: the student's ``.ipynb``.
        timeout: seconds allowed for the whole notebook (and so for any one cell).
        student: the name shown in the table (default: the file name without extension).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    path = Path(path)
    student = student or path.stem
    start = time.perf_counter()
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # not JSON, not a notebook, invalid schema
        return Graded(student, path, f"malformed: {type(err).__name__}: {str(err).splitlines()[0][:100]}")
    expected = _expected(nb)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "grade.jsonl"
        old = os.environ.get("LMLIB_GRADE_LOG")
        os.environ["LMLIB_GRADE_LOG"] = str(log)
        deadline = time.monotonic() + timeout
        run = "ok"
        try:
            client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                    extra_arguments=["--IPKernelApp.log_level=ERROR"],
                                    resources={"metadata": {"path": str(path.parent.resolve())}})
            with client.setup_kernel():
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type != "code":
                        continue
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise CellTimeoutError(f"out of time before cell {index}")
                    client.timeout = max(1, int(left))
                    client.execute_cell(cell, index)
                    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
                    if errors and run == "ok":
                        run = f"raised: {errors[0].get('ename', 'Error')}: {str(errors[0].get('evalue', ''))[:80]}"
        except (CellTimeoutError, TimeoutError):
            run = f"timed out after {timeout} s"
        except DeadKernelError as err:
            run = f"raised: the kernel died ({err})"
        except Exception as err:
            run = f"raised: {type(err).__name__}: {str(err)[:80]}"
        finally:
            if old is None:
                os.environ.pop("LMLIB_GRADE_LOG", None)
            else:
                os.environ["LMLIB_GRADE_LOG"] = old
        verdicts: dict[str, str] = {}
        if log.is_file():
            for line in log.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                verdicts[row["exercise"]] = row["status"]   # the last check of an exercise counts
    exercises = {ex: verdicts.get(ex, "not attempted") for ex in expected}
    exercises.update({ex: st for ex, st in verdicts.items() if ex not in exercises})
    return Graded(student, path, run, exercises, time.perf_counter() - start)


def grade(paths: list[str | Path], *, timeout: int = 600, progress: bool | None = None) -> list[Graded]:
    """Grade every notebook found in ``paths`` (see :func:`find_notebooks`), one at a time."""
    from tqdm.auto import tqdm

    from lmlib.train import _show_progress

    notebooks = find_notebooks(paths)
    names = [p.stem for p in notebooks]
    out = []
    for p in tqdm(notebooks, unit="notebook", disable=not _show_progress(progress)):
        # Two students may hand in the same file name from different folders.
        name = p.stem if names.count(p.stem) == 1 else f"{p.parent.name}/{p.stem}"
        out.append(grade_notebook(p, timeout=timeout, student=name))
    return out


def _columns(results: list[Graded]) -> list[str]:
    cols: list[str] = []
    for r in results:
        cols += [ex for ex in r.exercises if ex not in cols]
    return cols


def grade_table(results: list[Graded]) -> str:
    """A plain-text table: one row per student, one column per exercise, plus how the notebook ran."""
    cols = _columns(results)
    short = {"correct": "correct", "wrong": "wrong", "not attempted": "—"}
    head = ["student", *cols, "score", "notebook"]
    rows = [[r.student, *(short[r.exercises.get(c, "not attempted")] for c in cols),
             f"{sum(v == 'correct' for v in r.exercises.values())}/{len(cols)}", r.run] for r in results]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip() for line in [head, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("— = not attempted (the check never ran, or the answer was left as None)")
    return "\n".join(lines)


def write_csv(results: list[Graded], path: str | Path) -> None:
    """One row per student: each exercise's status, the number correct, and how the notebook ran."""
    cols = _columns(results)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "notebook", *cols, "correct", "run"])
        for r in results:
            w.writerow([r.student, str(r.path), *(r.exercises.get(c, "not attempted") for c in cols),
                        sum(v == "correct" for v in r.exercises.values()), r.run])
