"""Tests for the staircase chapter's lmlib code: staircase data, the leap, hypercube Gram
matrices by lookup, and the eigenlearning prediction against kernel regression."""
from __future__ import annotations


import numpy as np
import pytest
import torch

from lmlib.data.staircase import staircase, staircase_function
from lmlib.exercises import check as exercise_check
from lmlib.ntk import eigenlearning, kernel_regression
from lmlib.theory.kernels import hypercube, hypercube_eigenvalues, relu_ntk, relu_ntk_dot, walsh, walsh_subsets
from lmlib.theory.staircase import hypercube_gram, leap, staircase_kernel_theory


def test_staircase_function_is_the_sum_of_nested_monomials():
    x = hypercube(5, dtype=torch.float64)                      # all 32 points
    y = staircase_function(x, 3)
    expected = walsh(x, [(0,), (0, 1), (0, 1, 2)]).sum(1)
    assert torch.equal(y, expected)
    # Walsh coefficients over the full cube: exactly 1 on the three steps, 0 elsewhere.
    coef = walsh(x, walsh_subsets(5)).T @ y / len(x)
    nonzero = {s for s, c in zip(walsh_subsets(5), coef.tolist()) if abs(c) > 1e-12}
    assert nonzero == {(0,), (0, 1), (0, 1, 2)}
    with pytest.raises(ValueError, match="k = 4"):
        staircase_function(x[:, :3], 4)


def test_staircase_data_distinct_and_seeded():
    a, b = staircase(50, 8, n_test=30, seed=3), staircase(50, 8, n_test=30, seed=3)
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    pts = torch.cat([a.x, a.x_test])
    assert len({tuple(p.tolist()) for p in pts}) == 80     # train and test points all distinct
    assert torch.equal(a.y, staircase_function(a.x)) and a.x.dtype == torch.float32


@pytest.mark.parametrize("monomials, expected", [
    ([(0,), (0, 1), (0, 1, 2)], 1), ([(0, 1, 2)], 3), ([(0,), (0, 1, 2)], 2), ([(0, 1), (1, 2), (2, 3)], 2),
    ([(3, 4), (0,), (0, 1), (1, 2, 3)], 2), ([(0,), (0, 1), (1, 2), (2, 3, 0)], 1), ([], 0), ([()], 0), ([(0,), (1,), (2,)], 1),
])
def test_leap(monomials, expected):
    assert leap(monomials) == expected


def test_leap_matches_brute_force_over_orderings():
    import itertools
    rng = np.random.default_rng(0)
    for _ in range(20):
        mons = [tuple(sorted(rng.choice(6, size=rng.integers(1, 4), replace=False).tolist()))
                for _ in range(rng.integers(1, 5))]
        brute = min(max(len(set(mons[p[i]]) - set().union(*[set(mons[p[j]]) for j in range(i)]))
                        for i in range(len(p))) for p in itertools.permutations(range(len(mons))))
        assert leap(mons) == brute
    with pytest.raises(TypeError):
        leap(["ab"])


def test_hypercube_gram_equals_direct_kernel():
    x = hypercube(12, 40, seed=1, dtype=torch.float64)
    K = hypercube_gram(x[:25], x[25:])
    assert torch.allclose(K, relu_ntk(x[:25], x[25:]), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="±1"):
        hypercube_gram(0.5 * x, x)
    with pytest.raises(ValueError, match="columns"):
        hypercube_gram(x, x[:, :5])


def test_staircase_kernel_theory_matches_unexpanded_eigenlearning():
    # On a small cube every mode can be listed; the tail-as-ridge shortcut must agree with it.
    d, n = 10, [40, 120]
    lam = hypercube_eigenvalues(relu_ntk_dot, d).numpy()
    subsets = walsh_subsets(d)
    full_lam = np.array([lam[len(s)] for s in subsets])
    coef = np.array([1.0 if s in [(0,), (0, 1), (0, 1, 2)] else 0.0 for s in subsets])
    exact = eigenlearning(full_lam, coef, n, ridge=1e-3)["test_mse"]
    approx = staircase_kernel_theory(n, d, 3, ridge=1e-3, max_degree=6)["test_mse"]
    assert np.allclose(approx, exact, rtol=5e-3)  # the tail is only ~100× below κ at d = 10
    full = staircase_kernel_theory(n, d, 3, ridge=1e-3, max_degree=10)["test_mse"]
    assert np.allclose(full, exact, rtol=1e-10)


def test_staircase_kernel_theory_predicts_kernel_regression():
    # d = 16, n = 500: eigenlearning vs measured ridgeless NTK regression, averaged over 3 draws
    # (on small cubes, d = 12, n/2^d is no longer small and the theory runs 10–40 % low).
    d, n, measured = 16, 500, []
    for s in range(3):
        data = staircase(n, d, n_test=1000, seed=s, dtype=torch.float64)
        K, Kx = hypercube_gram(data.x, data.x), hypercube_gram(data.x_test, data.x)
        measured.append(((kernel_regression(K, data.y, Kx) - data.y_test) ** 2).mean().item())
    theory = staircase_kernel_theory(n, d, 3, max_degree=6)
    assert np.mean(measured) == pytest.approx(theory["test_mse"], rel=0.05)
    L = theory["degree_learnability"]
    assert L.shape == (3,) and np.all(np.diff(L) < 0)          # higher degree, learned less
    with pytest.raises(ValueError):
        staircase_kernel_theory(100, 5, 3, max_degree=2)


def test_beyond_linear_exercises():
    assert exercise_check("beyond_linear.leap", leap, quiet=True)
    assert not exercise_check("beyond_linear.leap", lambda monomials: max(map(len, monomials)), quiet=True)
    assert not exercise_check("beyond_linear.kernel_n", 4060, quiet=True)
