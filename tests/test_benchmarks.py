"""Smoke tests: every benchmark script runs and prints its ratios (speed itself is not asserted:
timings on a shared CI machine are too noisy to gate a build on; see benchmarks/README.md)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.slow
@pytest.mark.parametrize(
    "script, args, expect",
    [
        ("bench_ensemble.py", ["--repeats", "1"], "loop/vmap"),
        ("bench_ntk.py", [], "factorised"),
        ("bench_hessian.py", ["--repeats", "1"], "Lanczos"),
    ],
)
def test_benchmark_runs(script, args, expect):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert expect in out.stdout
