"""The implicit bias of diagonal linear networks: which interpolant gradient flow picks.

For f(x) = ⟨u² − v², x⟩ started at u = v = α and trained by gradient flow on the squared loss,
the weights w = u² − v² stay of the form w = 2α² sinh(Xᵀν) for some ν ∈ ℝⁿ (each coordinate
grows exponentially at a rate set by the running gradient). If training reaches zero loss, that
form is exactly the optimality condition of (Woodworth et al. 2020, Theorem 1)

    w_α = argmin Q_α(w)  subject to  X w = y,
    Q_α(w) = α² Σ_i q(w_i / α²),   q(z) = 2 − √(4 + z²) + z·arcsinh(z/2),

a potential that behaves like ‖w‖²/(4α²) when |w| ≪ α² (large α: the kernel regime, the
minimum-ℓ2 interpolant) and like ‖w‖₁·log(1/α²) when |w| ≫ α² (small α: the rich regime, the
minimum-ℓ1 interpolant of compressed sensing). :func:`implicit_bias_solution` solves the convex
problem through its dual; the two limits are :func:`min_l2_interpolant` and
:func:`min_l1_interpolant`.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linprog

from lmlib._checks import check_int, check_real

__all__ = ["q_alpha", "implicit_bias_solution", "min_l2_interpolant", "min_l1_interpolant",
           "min_l2_expected_error"]


def _design(X, y) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().double().numpy()
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().double().numpy()
    try:
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("X and y must be numeric arrays or tensors") from None
    if X.ndim != 2 or y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"need X [n, d] and y [n]; got {X.shape} and {y.shape}")
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise ValueError("X and y must be finite")
    if X.shape[0] > X.shape[1] or np.linalg.matrix_rank(X) < X.shape[0]:
        raise ValueError(f"X must have full row rank n <= d so that Xw = y has solutions; "
                         f"got shape {X.shape}, rank {np.linalg.matrix_rank(X)}")
    return X, y


def q_alpha(w, alpha: float) -> float:
    """The potential Q_α(w) = α² Σ_i q(w_i/α²), q(z) = 2 − √(4 + z²) + z·arcsinh(z/2).

    Args:
        w: weights ``[d]`` (array or tensor).
        alpha: initialisation scale α > 0.

    Returns:
        Q_α(w) as a float (≥ 0, zero only at w = 0).
    """
    alpha = check_real("alpha", alpha, positive=True)
    z = np.asarray(w.detach().cpu().numpy() if isinstance(w, torch.Tensor) else w, dtype=np.float64) / alpha**2
    return float(alpha**2 * np.sum(2 - np.sqrt(4 + z**2) + z * np.arcsinh(z / 2)))


def implicit_bias_solution(X, y, alpha: float, *, tol: float = 1e-12) -> np.ndarray:
    """The interpolant gradient flow on a diagonal linear network converges to: argmin Q_α s.t. Xw = y.

    Solved through the dual: w(ν) = 2α² sinh(Xᵀν) minimises Q_α(w) − νᵀ(Xw − y) for fixed ν, so
    ν minimises the smooth convex function D(ν) = 2α² Σ_i cosh((Xᵀν)_i) − yᵀν, whose gradient is
    X w(ν) − y and Hessian 2α² X diag(cosh(Xᵀν)) Xᵀ: damped Newton converges in a few dozen steps.

    Args:
        X: inputs ``[n, d]`` with full row rank, n ≤ d.
        y: targets ``[n]``.
        alpha: initialisation scale α > 0.
        tol: tolerance on the interpolation residual max |Xw − y| / max |y|.

    Returns:
        w_α, a float64 array ``[d]``.

    Raises:
        TypeError, ValueError: for bad inputs; RuntimeError if the solver does not reach ``tol``.
    """
    X, y = _design(X, y)
    alpha = check_real("alpha", alpha, positive=True)
    c = 2 * alpha**2
    # Start from the kernel-regime (small-|w|) solution: there sinh(s) ≈ s, so Xw ≈ c X Xᵀ ν = y.
    nu0 = np.linalg.solve(c * X @ X.T, y)
    # Clip the start so cosh does not overflow for tiny α; Newton moves from there.
    s0 = X.T @ nu0
    if np.abs(s0).max() > 30:
        nu0 *= 30 / np.abs(s0).max()

    def dual(nu):  # cosh − 1 = 2 sinh²(s/2): no large constant to swamp the line search's comparisons
        return 2 * c * (np.sinh(X.T @ nu / 2) ** 2).sum() - y @ nu

    # Damped Newton on the convex dual; the backtracking (Armijo) line search keeps cosh in range
    # when α is small and the dual is steep.
    scale, nu = max(np.abs(y).max(), 1e-300), nu0
    for _ in range(500):
        s = X.T @ nu
        grad = X @ (c * np.sinh(s)) - y
        if np.abs(grad).max() <= tol * scale:
            break
        step = np.linalg.solve((X * (c * np.cosh(s))) @ X.T, grad)
        t, d0, slope, g0 = 1.0, dual(nu), grad @ step, np.abs(grad).max()
        # Near the optimum the dual's decrease drops below its rounding error; then accept any
        # step that shrinks the residual instead (the Newton step does, quadratically).
        while t > 1e-12 and dual(nu - t * step) > d0 - 0.25 * t * slope \
                and np.abs(X @ (c * np.sinh(X.T @ (nu - t * step))) - y).max() >= g0:
            t /= 2
        nu = nu - t * step
    w = c * np.sinh(X.T @ nu)
    if np.abs(X @ w - y).max() > 1e3 * tol * scale:
        raise RuntimeError(f"implicit_bias_solution did not converge for alpha={alpha:g}: "
                           f"max |Xw - y| = {np.abs(X @ w - y).max():.3g}")
    return w


def min_l2_interpolant(X, y) -> np.ndarray:
    """argmin ‖w‖₂ subject to Xw = y, i.e. Xᵀ(XXᵀ)⁻¹y: the α → ∞ limit of :func:`implicit_bias_solution`."""
    X, y = _design(X, y)
    return X.T @ np.linalg.solve(X @ X.T, y)


def min_l1_interpolant(X, y) -> np.ndarray:
    """argmin ‖w‖₁ subject to Xw = y (basis pursuit, as a linear program): the α → 0 limit.

    Written as w = p − m with p, m ≥ 0 and minimised Σ(p + m) by scipy's HiGHS solver.
    """
    X, y = _design(X, y)
    d = X.shape[1]
    res = linprog(np.ones(2 * d), A_eq=np.hstack([X, -X]), b_eq=y, bounds=(0, None), method="highs")
    if res.status != 0:
        raise RuntimeError(f"basis pursuit failed: {res.message}")
    return res.x[:d] - res.x[d:]


def min_l2_expected_error(w_star_norm2: float, n: int, d: int) -> float:
    """E‖w_ℓ2 − w*‖² = ‖w*‖²·(1 − n/d) for inputs with i.i.d. N(0, 1) entries, n ≤ d.

    The minimum-ℓ2 interpolant is the orthogonal projection of w* onto the row space of X, a
    uniformly random n-dimensional subspace of ℝ^d (rotation invariance of the Gaussian), so it
    misses on average the fraction 1 − n/d of ‖w*‖². With isotropic test inputs, ‖w − w*‖² is the
    test error E_x (xᵀw − xᵀw*)².

    Args:
        w_star_norm2: ‖w*‖² ≥ 0.
        n: number of samples, 1 ≤ n ≤ d.
        d: dimension.
    """
    w_star_norm2 = check_real("w_star_norm2", w_star_norm2, nonnegative=True)
    d = check_int("d", d, minimum=1)
    n = check_int("n", n, minimum=1)
    if n > d:
        raise ValueError(f"n = {n} must be <= d = {d}")
    return w_star_norm2 * (1 - n / d)
