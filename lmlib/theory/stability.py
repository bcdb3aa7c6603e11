"""Why gradient descent cannot stay sharper than 2/η: the quadratic model and its period-2 orbits.

Near a point θ, the loss is its second-order Taylor model. Along an eigenvector of
the Hessian with eigenvalue λ, gradient descent with step η multiplies the
displacement by (1 − ηλ) every step (Cohen et al. 2021, §2):

    x_{t+1} = (1 − ηλ) x_t,

so the displacement shrinks when 0 < λ < 2/η and grows geometrically, flipping
sign each step, when λ > 2/η. The *stability threshold* 2/η is therefore the
largest sharpness that gradient descent can tolerate for long; the
edge-of-stability chapter checks that full-batch training settles there.

Beyond the quadratic model, a cubic term that softens the curvature (the
one-dimensional caricature of self-stabilisation, Damian et al. 2023) turns the
divergence into a bounded period-2 oscillation, whose amplitude is given here in
closed form.
"""
from __future__ import annotations

import numpy as np

from lmlib._checks import check_int, check_real

__all__ = ["stability_threshold", "quadratic_gd", "growth_factor", "steps_to_grow",
           "period_two_amplitude"]


def stability_threshold(lr: float | np.ndarray) -> float | np.ndarray:
    """The largest Hessian eigenvalue that gradient descent with step ``lr`` is stable on: 2/lr.

    Raises:
        ValueError: if any ``lr`` is not positive and finite.
    """
    arr = np.asarray(lr, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"lr must be positive and finite, got {lr!r}")
    out = 2.0 / arr
    return float(out) if out.ndim == 0 else out


def growth_factor(curvature: float | np.ndarray, lr: float) -> float | np.ndarray:
    """|1 − η·λ|: the factor by which one GD step scales a displacement along an eigenvalue λ.

    Raises:
        ValueError: if ``lr`` is not positive.
    """
    lr = check_real("lr", lr, positive=True)
    out = np.abs(1.0 - lr * np.asarray(curvature, dtype=float))
    return float(out) if out.ndim == 0 else out


def quadratic_gd(curvatures, x0, lr: float, steps: int) -> np.ndarray:
    """Exact GD iterates on the quadratic L(x) = ½ Σ_i λ_i x_i² (coordinates = Hessian eigenbasis).

    Args:
        curvatures: the eigenvalues λ_i, shape ``[k]`` (or a scalar).
        x0: the starting displacement along each eigenvector, broadcastable to ``[k]``.
        lr: the step size η.
        steps: number of GD steps.

    Returns:
        Array ``[steps + 1, k]``: x_t = (1 − ηλ)^t x_0 for t = 0 … steps.

    Raises:
        ValueError: if ``lr`` is not positive or ``steps`` < 0.
    """
    lr = check_real("lr", lr, positive=True)
    steps = check_int("steps", steps, minimum=0)
    lam = np.atleast_1d(np.asarray(curvatures, dtype=float))
    x0 = np.broadcast_to(np.asarray(x0, dtype=float), lam.shape)
    t = np.arange(steps + 1)[:, None]
    return x0[None, :] * (1.0 - lr * lam[None, :]) ** t


def steps_to_grow(curvature: float, lr: float, factor: float) -> float:
    """How many GD steps multiply a displacement along eigenvalue λ > 2/η by ``factor``.

    Solves |1 − ηλ|^t = factor: t = ln(factor) / ln|1 − ηλ|.

    Raises:
        ValueError: if λ ≤ 2/η (the displacement does not grow) or ``factor`` ≤ 1.
    """
    curvature = check_real("curvature", curvature)
    lr = check_real("lr", lr, positive=True)
    factor = check_real("factor", factor, positive=True)
    if factor <= 1:
        raise ValueError(f"factor must be > 1, got {factor}")
    g = growth_factor(curvature, lr)
    if g <= 1:
        raise ValueError(f"curvature={curvature} is not above the stability threshold 2/lr={2 / lr:g}: "
                         f"nothing grows")
    return float(np.log(factor) / np.log(g))


def period_two_amplitude(curvature: float, softening: float, lr: float) -> float:
    """Amplitude a of GD's period-2 orbit x → −x on L(x) = ½λx² − ¼c x⁴ (λ > 2/η, c > 0).

    The orbit needs x − η(λx − c x³) = −x, i.e. the *secant* curvature
    λ − c a² to equal exactly 2/η: a = √((λ − 2/η)/c). The oscillation is
    the quartic term pulling the effective curvature back to the threshold —
    the one-dimensional picture of gradient descent at the edge of stability.

    Args:
        curvature: λ, the curvature at the minimum, above 2/η.
        softening: c > 0, the strength of the quartic softening.
        lr: the step size η.

    Raises:
        ValueError: if λ ≤ 2/η (no orbit: GD converges) or ``softening`` ≤ 0.
    """
    curvature = check_real("curvature", curvature)
    softening = check_real("softening", softening, positive=True)
    lr = check_real("lr", lr, positive=True)
    excess = curvature - 2.0 / lr
    if excess <= 0:
        raise ValueError(f"curvature={curvature} must exceed 2/lr={2 / lr:g} for a period-2 orbit")
    return float(np.sqrt(excess / softening))
