"""``python -m lmlib verify``: rerun chapters headless and compare their predictions.

A reader or an instructor reruns any chapter on seeds nobody tuned for, on their own
machine (a GPU if they have one), without building the website: each chapter's jupytext
source is executed top to bottom in a fresh kernel (nbclient), in the chapter's folder,
with ``LMLIB_SEED``, ``LMLIB_SCALE`` and ``LMLIB_DEVICE`` set as asked. Its checks go to
a scoreboard of its own under ``_build/verify/``, never the book's, and are printed
beside the last book build's measurement of the same claim.
"""
from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from lmlib.book.chapters import resolve_chapters
from lmlib.predictions import Prediction, latest, read_scoreboard

__all__ = ["ChapterRun", "run_chapter", "verify", "format_table"]


@dataclass
class ChapterRun:
    """The outcome of one chapter's headless run."""

    name: str
    seconds: float
    cpu_seconds: float = 0.0      # CPU time of the chapter's kernel (user + system)
    records: list[Prediction] = field(default_factory=list)
    error: str | None = None       # the exception that stopped the chapter, if any

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.records) and all(r.passed for r in self.records)


def _execute(path: Path, env: dict[str, str], timeout: int, save_to: Path | None) -> str | None:
    """Run the notebook at ``path``; return None on success, else a short error description."""
    import jupytext
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = jupytext.read(path, fmt="md:myst")
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                extra_arguments=["--IPKernelApp.log_level=ERROR"],
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
        return None
    except CellExecutionError as err:
        lines = [ln for ln in str(err).splitlines() if ln.strip()]
        named = [ln for ln in lines if "Error" in ln or "PredictionFailed" in ln]
        return (named[-1] if named else lines[-1] if lines else "a cell raised").strip()
    except (CellTimeoutError, TimeoutError):
        return f"a cell ran longer than {timeout} s"
    except DeadKernelError as err:
        return f"the kernel died: {err}"
    except Exception as err:  # a malformed notebook, a missing kernel: report, go on
        return f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=2)}"
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if save_to is not None:
            import nbformat

            save_to.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, save_to)


def run_chapter(name: str, path: Path, *, root: Path, seed: int, scale: str | None = None,
                device: str | None = None, timeout: int = 900) -> ChapterRun:
    """Execute one chapter headless and collect the predictions it checked.

    The executed notebook is kept as ``_build/verify/<name>-seed<seed>.ipynb`` for inspection.
    """
    out_dir = root / "_build" / "verify"
    board = out_dir / f"scoreboard-seed{seed}.jsonl"
    env = {"LMLIB_SEED": str(seed), "LMLIB_SCOREBOARD": str(board), "LMLIB_PROGRESS": "0"}
    if scale:
        env["LMLIB_SCALE"] = scale
    if device:
        env["LMLIB_DEVICE"] = device
    import resource

    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    error = _execute(path, env, timeout, out_dir / f"{name.replace('/', '__')}-seed{seed}.ipynb")
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the kernel has exited and been reaped
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    records = [r for r in latest(read_scoreboard(board)) if r.chapter == name and r.time >= time.time() - seconds - 5]
    if error is None and not records:
        error = "the chapter checked no prediction (does it call lmlib.start_chapter with its name?)"
    return ChapterRun(name, seconds, cpu, records, error)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def format_table(run: ChapterRun, book: dict[tuple[str, str], Prediction]) -> str:
    """One chapter's predictions as a plain-text table (claim, this run, last build, ...)."""
    head = ("claim", "this run", "last build", "predicted", "tolerance", "verdict")
    rows = [(r.name, _fmt(r.measured),
             _fmt(book[(r.chapter, r.name)].measured) if (r.chapter, r.name) in book else "—",
             _fmt(r.predicted), r.tolerance, r.verdict) for r in run.records]
    widths = [min(max(len(h), *(len(row[i]) for row in rows)) if rows else len(h), 70 if i == 0 else 40)
              for i, h in enumerate(head)]

    def line(cells):
        out = []
        for i, c in enumerate(cells):
            c = c if len(c) <= widths[i] else c[: widths[i] - 1] + "…"
            out.append(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]))
        return "  ".join(out)

    status = "ok" if run.ok else "FAILED"
    parts = [f"== {run.name}: {status} in {run.seconds:.1f} s wall, {run.cpu_seconds:.1f} s CPU, "
             f"{sum(r.passed for r in run.records)}/{len(run.records)} predictions pass"]
    if rows:
        parts += [line(head), line(["-" * w for w in widths]), *(line(r) for r in rows)]
    if run.error:
        parts.append(f"   stopped: {run.error}")
    return "\n".join(parts)


def verify(names: list[str] | None = None, *, root: str | Path = ".", seed: int | None = None,
           scale: str | None = None, device: str | None = None, timeout: int = 900,
           progress: bool | None = None) -> tuple[int, list[ChapterRun]]:
    """Rerun chapters and print one table each; returns ``(exit status, runs)``.

    Args:
        names: chapters to run (see :func:`lmlib.book.chapters.resolve_chapters`); None: all.
        root: the book's root.
        seed: ``LMLIB_SEED`` for the runs (default: the current ``LMLIB_SEED``, else 0).
        scale: ``"quick"`` or ``"full"`` (default: the current ``LMLIB_SCALE``).
        device: e.g. ``"cpu"`` or ``"cuda"`` (default: CUDA when present).
        timeout: seconds allowed per cell.

    The status is 0 when every chapter ran and every prediction passed, else 1.
    """
    from tqdm.auto import tqdm

    from lmlib.config import SCALES, base_seed
    from lmlib.train import _show_progress

    root = Path(root).resolve()
    if not (root / "_config.yml").is_file():
        raise FileNotFoundError(f"{root} has no _config.yml: run this from the book's root (or pass --root)")
    if scale is not None and scale not in SCALES:
        raise ValueError(f"--scale must be one of {list(SCALES)}, got {scale!r}")
    seed = base_seed() if seed is None else int(seed)
    if seed < 0:
        raise ValueError(f"--seed must be >= 0, got {seed}")
    chapters = resolve_chapters(names, root)
    book = {(r.chapter, r.name): r for r in latest(read_scoreboard(root / "_build" / "scoreboard.jsonl"))}
    board = root / "_build" / "verify" / f"scoreboard-seed{seed}.jsonl"
    runs = []
    bar = tqdm(chapters.items(), total=len(chapters), unit="chapter", disable=not _show_progress(progress))
    for name, path in bar:
        bar.set_description(name)
        print(f"running {name} (LMLIB_SEED={seed}, scale={scale or os.environ.get('LMLIB_SCALE') or 'quick'}) ...",
              flush=True)
        run = run_chapter(name, path, root=root, seed=seed, scale=scale, device=device, timeout=timeout)
        runs.append(run)
        print(format_table(run, book), flush=True)
    failed = [r for r in runs if not r.ok]
    total = sum(len(r.records) for r in runs)
    passed = sum(p.passed for r in runs for p in r.records)
    print(f"\n{passed}/{total} predictions pass over {len(runs)} chapter(s) at LMLIB_SEED={seed}; "
          f"{sum(r.seconds for r in runs):.0f} s in all. Records: {board.relative_to(root)}")
    for r in failed:
        bad = [p.name for p in r.records if not p.passed]
        why = r.error or ("failed: " + "; ".join(bad))
        print(f"FAILED {r.name}: {why}")
    return (1 if failed else 0), runs
