"""lmlib.sweep.run: grid order, error propagation, and Ray == local."""
from __future__ import annotations

import time

import numpy as np
import pytest

from lmlib.sweep import SweepFailed, SweepResult, grid_points, run


def test_dict_grid_is_cartesian_in_nested_loop_order():
    sweep = run(lambda a, b: 10 * a + b, {"a": [1, 2], "b": range(3)}, progress=False)
    assert isinstance(sweep, SweepResult) and len(sweep) == 6
    assert sweep.points == [{"a": 1, "b": 0}, {"a": 1, "b": 1}, {"a": 1, "b": 2},
                            {"a": 2, "b": 0}, {"a": 2, "b": 1}, {"a": 2, "b": 2}]
    assert sweep.results == [10, 11, 12, 20, 21, 22]
    assert sweep[4] == ({"a": 2, "b": 1}, 21)
    assert [r for _, r in sweep] == sweep.results


def test_list_grid_kept_in_order_and_table():
    grid = [{"lr": 0.5, "name": "big"}, {"lr": 0.01, "name": "small"}]
    sweep = run(lambda lr, name: {"loss": lr / 3, "tag": name.upper()}, grid, progress=False)
    assert sweep.rows() == [{"lr": 0.5, "name": "big", "loss": 0.5 / 3, "tag": "BIG"},
                            {"lr": 0.01, "name": "small", "loss": 0.01 / 3, "tag": "SMALL"}]
    lines = sweep.to_table(precision=3).splitlines()
    assert lines[0].split() == ["lr", "name", "loss", "tag"]
    assert lines[1].split() == ["0.5", "big", "0.167", "BIG"]
    assert run(lambda x: x, {"x": np.array([1, 2])}, progress=False).to_table().split() == ["x", "result",
                                                                                              "1", "1", "2", "2"]


def test_error_names_the_failing_point():
    def fn(lr):
        if lr > 1:
            raise FloatingPointError("blew up")
        return lr

    with pytest.raises(SweepFailed, match=r"grid point 2 \{'lr': 10\}.*FloatingPointError: blew up") as info:
        run(fn, {"lr": [0.1, 1, 10, 100]}, progress=False)
    assert info.value.point == {"lr": 10} and info.value.index == 2
    assert isinstance(info.value.__cause__, FloatingPointError)


@pytest.mark.parametrize("args, kwargs, error, match", [
    (("not callable", {"a": [1]}), {}, TypeError, "fn must be callable"),
    ((print, {"a": 1}), {}, TypeError, r"grid\['a'\] must be a list"),
    ((print, {"a": "abc"}), {}, TypeError, r"grid\['a'\] must be a list"),
    ((print, {"a": {1, 2}}), {}, TypeError, r"grid\['a'\] must be a list"),
    ((print, {"a": []}), {}, ValueError, r"grid\['a'\] is empty"),
    ((print, {1: [1]}), {}, TypeError, "grid keys must be"),
    ((print, []), {}, ValueError, "grid is an empty list"),
    ((print, [{"a": 1}, 3]), {}, TypeError, r"grid\[1\] must be a dict"),
    ((print, 5), {}, TypeError, "grid must be a dict of lists or a list of dicts"),
    ((print, {"a": [1]}), {"backend": "dask"}, ValueError, "backend must be one of"),
    ((print, {"a": [1]}), {"num_gpus": 1}, ValueError, "apply to backend='ray'"),
    ((print, {"a": [1]}), {"backend": "ray", "num_cpus": -1}, ValueError, "num_cpus must be"),
])
def test_bad_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        run(*args, progress=False, **kwargs)


def test_grid_points_returns_fresh_dicts():
    grid = [{"a": 1}]
    points = grid_points(grid)
    points[0]["a"] = 2
    assert grid == [{"a": 1}]


def test_ray_missing_gives_install_hint(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ImportError, match=r"pip install 'lmlib\[distributed\]'"):
        run(lambda a: a, {"a": [1]}, backend="ray", progress=False)


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="the ray backend needs the optional extra lmlib[distributed]")
    start = time.perf_counter()
    # A small local cluster: 2 CPUs, no dashboard, little object store; torn down after.
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100 * 2**20,
             log_to_driver=False, configure_logging=False)
    print(f"ray.init took {time.perf_counter() - start:.1f} s")
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_backend_equals_local(ray_cluster):
    import torch

    def final_loss(lr, seed):
        # Defined inside the test so Ray pickles it by value (workers cannot import tests/).
        from lmlib.models import MLP
        from lmlib.train import train

        gen = torch.Generator().manual_seed(0)
        x = torch.randn(32, 4, generator=gen)
        y = x[:, :1] * 2
        model = MLP((4, 8, 1), "tanh", seed=seed)
        return float(train(model, x, y, lr=lr, steps=20, progress=False).loss[-1])

    grid = {"lr": [0.01, 0.1], "seed": [0, 1, 2]}
    local = run(final_loss, grid, progress=False)
    remote = run(final_loss, grid, backend="ray", progress=False)
    assert remote.points == local.points
    assert remote.results == local.results  # same computation, same float: bitwise equal


@pytest.mark.slow
def test_ray_backend_names_the_failing_point(ray_cluster):
    def fn(a):
        if a == 3:
            raise ValueError("bad a")
        return a

    with pytest.raises(SweepFailed, match=r"grid point 3 \{'a': 3\}.*ValueError.*bad a") as info:
        run(fn, {"a": list(range(5))}, backend="ray", progress=False)
    assert info.value.index == 3
    with pytest.raises(ValueError, match="already initialised"):
        run(fn, {"a": [1]}, backend="ray", address="auto", progress=False)


def test_backend_defaults_to_the_environment_variable(monkeypatch):
    monkeypatch.delenv("LMLIB_SWEEP_BACKEND", raising=False)
    assert run(lambda a: a + 1, {"a": [1, 2]}, progress=False).results == [2, 3]     # unset: local
    monkeypatch.setenv("LMLIB_SWEEP_BACKEND", "local")
    assert run(lambda a: a * 2, {"a": [1, 2]}, progress=False).results == [2, 4]
    monkeypatch.setenv("LMLIB_SWEEP_BACKEND", "dask")
    with pytest.raises(ValueError, match="LMLIB_SWEEP_BACKEND must be one of"):
        run(lambda a: a, {"a": [1]}, progress=False)
    # an explicit backend wins over the variable
    assert run(lambda a: a, {"a": [3]}, backend="local", progress=False).results == [3]
