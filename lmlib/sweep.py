"""Run one experiment over a grid of settings, here or on a Ray cluster.

A sweep is ``fn(**point)`` for every point of a grid. ``backend="local"`` runs the
points one after another in this process (deterministic, nothing to install);
``backend="ray"`` sends each point to a Ray task, for when a sweep outgrows one
machine. Results come back in grid order either way.

For seeds, learning rates or weight decays of one small architecture, prefer
:func:`lmlib.ensemble.train_ensemble`: it trains the whole sweep in one vmapped
computation, far faster than one task per point.
"""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

from lmlib._checks import check_choice

__all__ = ["SweepFailed", "SweepResult", "grid_points", "run"]

BACKENDS = ("local", "ray")


class SweepFailed(RuntimeError):
    """``fn`` raised at one grid point. The original exception is ``__cause__``.

    Attributes:
        point: the failing point (keyword arguments of ``fn``).
        index: its position in grid order.
    """

    def __init__(self, message: str, point: dict, index: int) -> None:
        super().__init__(message)
        self.point = point
        self.index = index


@dataclass
class SweepResult:
    """The points of a sweep and ``fn``'s result at each, in grid order.

    Iterating yields ``(point, result)`` pairs; ``sweep[i]`` is the i-th pair.

    Attributes:
        points: the grid points, each a dict of keyword arguments.
        results: ``fn(**point)`` for each point.
    """

    points: list[dict]
    results: list[Any]

    def __len__(self) -> int:
        return len(self.points)

    def __iter__(self) -> Iterator[tuple[dict, Any]]:
        return iter(zip(self.points, self.results))

    def __getitem__(self, i: int) -> tuple[dict, Any]:
        return self.points[i], self.results[i]

    def rows(self) -> list[dict]:
        """One dict per point: its settings, then the result's fields if the result is
        a mapping, else a ``"result"`` column. ``pandas.DataFrame(sweep.rows())`` makes a table."""
        out = []
        for point, result in self:
            extra = dict(result) if isinstance(result, Mapping) else {"result": result}
            out.append({**point, **extra})
        return out

    def to_table(self, precision: int = 4) -> str:
        """A plain-text table of :meth:`rows`, one line per point (floats to ``precision`` digits)."""
        rows = self.rows()
        columns = list(dict.fromkeys(k for row in rows for k in row))

        def fmt(v: Any) -> str:
            return f"{v:.{precision}g}" if isinstance(v, float) else str(v)

        cells = [[fmt(row.get(c, "")) for c in columns] for row in rows]
        widths = [max([len(str(c))] + [len(r[j]) for r in cells]) for j, c in enumerate(columns)]
        lines = ["  ".join(str(c).rjust(w) for c, w in zip(columns, widths))]
        lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
        return "\n".join(lines)


def grid_points(grid: Mapping[str, Sequence] | Sequence[Mapping[str, Any]]) -> list[dict]:
    """Expand a grid into its list of points.

    Args:
        grid: either a dict of lists, expanded to their cartesian product in nested-loop
            order (the last key varies fastest): ``{"lr": [0.1, 1], "seed": [0, 1]}`` →
            ``(0.1, 0), (0.1, 1), (1, 0), (1, 1)``; or an explicit list of dicts, kept as is.

    Returns:
        The points, each a fresh dict of keyword arguments.

    Raises:
        TypeError: if ``grid`` is neither, a key is not a string, or a dict value is not a list.
        ValueError: if the grid has no points.
    """
    if isinstance(grid, Mapping):
        for key, values in grid.items():
            if not isinstance(key, str):
                raise TypeError(f"grid keys must be argument names (str), got {key!r}")
            # A list, tuple, range or 1-D array; not a set (no reliable order) nor a bare value.
            if isinstance(values, (str, bytes, Mapping, set, frozenset)) or not hasattr(values, "__len__"):
                raise TypeError(f"grid[{key!r}] must be a list of values, got {type(values).__name__} "
                                f"(wrap a single value in a list: [{values!r}])")
            if len(values) == 0:
                raise ValueError(f"grid[{key!r}] is empty, so the grid has no points")
        keys = list(grid)
        return [dict(zip(keys, combo)) for combo in itertools.product(*(list(grid[k]) for k in keys))]
    if isinstance(grid, (str, bytes)) or not isinstance(grid, Sequence):
        raise TypeError(f"grid must be a dict of lists or a list of dicts, got {type(grid).__name__}")
    if len(grid) == 0:
        raise ValueError("grid is an empty list: there are no points to run")
    points = []
    for i, point in enumerate(grid):
        if not isinstance(point, Mapping) or not all(isinstance(k, str) for k in point):
            raise TypeError(f"grid[{i}] must be a dict of argument name → value, got {point!r}")
        points.append(dict(point))
    return points


def _failed(point: dict, index: int, err: BaseException) -> SweepFailed:
    return SweepFailed(f"fn failed at grid point {index} {point}: {type(err).__name__}: {err}", point, index)


def run(
    fn: Callable[..., Any],
    grid: Mapping[str, Sequence] | Sequence[Mapping[str, Any]],
    *,
    backend: str | None = None,
    progress: bool | None = None,
    address: str | None = None,
    num_cpus: float = 1,
    num_gpus: float = 0,
    init_kwargs: Mapping[str, Any] | None = None,
) -> SweepResult:
    """Run ``fn(**point)`` at every point of ``grid`` and collect the results in grid order.

    Example:
        >>> def final_loss(lr, seed):
        ...     return train(MLP((8, 32, 1), seed=seed), x, y, lr=lr, steps=200).loss[-1]
        >>> sweep = run(final_loss, {"lr": [0.01, 0.1], "seed": [0, 1, 2]})
        >>> print(sweep.to_table())

    Args:
        fn: the experiment; called with each point as keyword arguments. Keep its
            randomness in its arguments (a ``seed`` key) so a point's result does not
            depend on the backend or the order of execution.
        grid: a dict of lists (cartesian product, last key fastest) or a list of dicts;
            see :func:`grid_points`.
        backend: ``"local"`` (sequential, in this process) or ``"ray"`` (one Ray task per
            point; needs ``pip install lmlib[distributed]``); ``None`` (the default) reads
            the ``LMLIB_SWEEP_BACKEND`` environment variable, ``"local"`` if it is unset,
            so a whole book can be sent to Ray without editing a chapter. With Ray, ``fn`` must be
            picklable (lambdas and local functions are, via cloudpickle) and whatever it
            imports must be installed on the workers.
        progress: show a tqdm bar over points (default: only in a terminal or on Colab).
        address: Ray only: the cluster to connect to (e.g. ``"ray://head:10001"`` or
            ``"auto"``). If Ray is already initialised it is used as is; otherwise
            ``ray.init(address=address)``, which with ``None`` joins the cluster named by
            ``RAY_ADDRESS`` or starts a local one using this machine's cores. A Ray that
            ``run`` starts stays up for the next sweep; ``ray.shutdown()`` stops it.
        num_cpus, num_gpus: Ray only: resources each task reserves (fractions allowed;
            ``num_gpus=1`` gives each point its own GPU).
        init_kwargs: Ray only: more arguments for ``ray.init`` when ``run`` starts Ray,
            e.g. ``{"runtime_env": {"pip": ["lmlib"]}}`` for a remote cluster, or
            ``{"num_cpus": 4}`` to size a local one.

    Returns:
        A :class:`SweepResult` with ``.points``, ``.results``, ``.rows()`` and ``.to_table()``.

    Raises:
        SweepFailed: when ``fn`` raises at a point; the message names the point and the
            original exception is chained as ``__cause__``. Remaining Ray tasks are cancelled.
        ImportError: for ``backend="ray"`` when Ray is not installed.
        ValueError, TypeError: on bad arguments.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if backend is None:
        backend = os.environ.get("LMLIB_SWEEP_BACKEND", "").strip() or "local"
        if backend not in BACKENDS:
            raise ValueError(f"LMLIB_SWEEP_BACKEND must be one of {list(BACKENDS)}, got {backend!r}")
    check_choice("backend", backend, BACKENDS)
    points = grid_points(grid)
    if backend == "local":
        if address is not None or num_cpus != 1 or num_gpus != 0 or init_kwargs:
            raise ValueError("address, num_cpus, num_gpus and init_kwargs apply to backend='ray'")
        return _run_local(fn, points, progress)
    for name, value in (("num_cpus", num_cpus), ("num_gpus", num_gpus)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    if address is not None and not isinstance(address, str):
        raise TypeError(f"address must be a string like 'ray://host:10001' or 'auto', got {type(address).__name__}")
    if init_kwargs is not None and not isinstance(init_kwargs, Mapping):
        raise TypeError(f"init_kwargs must be a dict of ray.init arguments, got {type(init_kwargs).__name__}")
    return _run_ray(fn, points, progress, address, num_cpus, num_gpus, dict(init_kwargs or {}))


def _bar(total: int, progress: bool | None):
    from tqdm.auto import tqdm  # imported here: tqdm.auto probes for Jupyter on import

    from lmlib.train import _show_progress

    return tqdm(total=total, disable=not _show_progress(progress), leave=False, mininterval=0.5, unit="point")


def _run_local(fn: Callable, points: list[dict], progress: bool | None) -> SweepResult:
    results = []
    with _bar(len(points), progress) as bar:
        for i, point in enumerate(points):
            try:
                results.append(fn(**point))
            except Exception as err:
                raise _failed(point, i, err) from err
            bar.update(1)
    return SweepResult(points=points, results=results)


def _import_ray():
    try:
        import ray
    except ImportError as err:
        raise ImportError("backend='ray' needs Ray: pip install 'lmlib[distributed]' "
                          "(or pip install 'ray>=2.9')") from err
    return ray


def _call(fn: Callable, point: dict) -> Any:
    return fn(**point)


def _run_ray(fn, points, progress, address, num_cpus, num_gpus, init_kwargs) -> SweepResult:
    ray = _import_ray()
    if not ray.is_initialized():
        # No dashboard by default: it is a web server a book build or a test has no use for.
        ray.init(address=address, **({"include_dashboard": False} | init_kwargs))
    elif address is not None or init_kwargs:
        raise ValueError("Ray is already initialised, so address and init_kwargs cannot be applied "
                         "(call ray.shutdown() first, or leave them unset)")
    task = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=0)(_call)
    fn_ref = ray.put(fn)  # shipped to the object store once, not once per point
    refs = [task.remote(fn_ref, point) for point in points]
    index = {ref: i for i, ref in enumerate(refs)}
    results: list[Any] = [None] * len(points)
    pending = list(refs)
    with _bar(len(points), progress) as bar:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            i = index[done[0]]
            try:
                results[i] = ray.get(done[0])
            except ray.exceptions.RayTaskError as err:
                for ref in pending:
                    ray.cancel(ref)
                cause = err.cause if isinstance(getattr(err, "cause", None), BaseException) else err
                raise _failed(points[i], i, cause) from cause
            bar.update(1)
    return SweepResult(points=points, results=results)
