"""The lazy limit, solved: gradient descent on a network's linearisation around its initialisation.

If the weights barely move, f(x; θ) ≈ f₀(x) + ∇f₀(x)·(θ − θ₀), and gradient descent on the
loss ½·mean_μ (f(x_μ) − y_μ)² with step η is linear dynamics driven by the empirical NTK K at
init (Jacot et al. 2018; Lee et al. 2019). With residuals r_t = f_t(X) − y on the n training
points,

    r_{t+1} = (I − (η/n) K) r_t,     f_t(x) = f₀(x) − K(x, X) Σ_{s<t} (η/n) r_s,

and diagonalising K = V Λ Vᵀ sums the geometric series in closed form:

    f_t(x) = f₀(x) − K(x, X) V diag( (1 − (1 − ηλ/n)^t) / λ ) Vᵀ r₀.

As t → ∞ (and all λ > 0) this is ridgeless kernel regression on y − f₀.
"""
from __future__ import annotations

import torch

from lmlib._checks import check_int, check_real, check_tensor

__all__ = ["linearized_gd"]


def linearized_gd(
    K_train: torch.Tensor,
    K_test_train: torch.Tensor,
    y_train: torch.Tensor,
    *,
    lr: float,
    steps: int,
    f0_train: torch.Tensor | None = None,
    f0_test: torch.Tensor | None = None,
) -> torch.Tensor:
    """Test predictions of the linearised network after ``steps`` steps of full-batch GD.

    The loss convention is :mod:`lmlib.train`'s ``"mse"``, ½·mean over examples, so one step
    multiplies the training residual by (I − (η/n)·K). Computed in float64.

    Args:
        K_train: empirical NTK at init on the training points, ``[n, n]``.
        K_test_train: the NTK between test and training points, ``[n_test, n]``.
        y_train: targets ``[n]``.
        lr: the learning rate η.
        steps: the number of GD steps t (≥ 0).
        f0_train, f0_test: the network's outputs at init (default zero, e.g. after
            :func:`lmlib.models.two_layer.mirror_`).

    Returns:
        Float64 tensor ``[n_test]``.

    Raises:
        TypeError, ValueError: for non-tensors or inconsistent shapes, ``lr <= 0``, ``steps < 0``.
    """
    K = check_tensor("K_train", K_train, ndim=2, floating=True).double()
    Kx = check_tensor("K_test_train", K_test_train, ndim=2, floating=True).double().to(K.device)
    y = check_tensor("y_train", y_train, ndim=1).double().to(K.device)
    lr = check_real("lr", lr, positive=True)
    steps = check_int("steps", steps, minimum=0)
    n = K.shape[0]
    if K.shape != (n, n) or Kx.shape[1] != n or y.shape[0] != n:
        raise ValueError(f"need K_train [n, n], K_test_train [m, n], y_train [n]; got "
                         f"{tuple(K.shape)}, {tuple(Kx.shape)}, {tuple(y.shape)}")
    f0 = torch.zeros_like(y) if f0_train is None else check_tensor("f0_train", f0_train, ndim=1).double().to(K.device)
    g0 = Kx.new_zeros(Kx.shape[0]) if f0_test is None else check_tensor("f0_test", f0_test, ndim=1).double().to(K.device)
    if f0.shape != y.shape or g0.shape[0] != Kx.shape[0]:
        raise ValueError("f0_train must be [n] and f0_test [n_test]")
    lam, V = torch.linalg.eigh((K + K.T) / 2)
    z = lr * lam / n
    # (1 − (1 − z)^t)/λ, written with log1p/expm1 so that tiny λ give t·η/n instead of 0/0.
    with torch.no_grad():
        # for 0 ≤ z < 1 the accurate form; for z ≥ 1 (a step past the mode's stability edge at
        # z = 2 diverges, as the network would) the plain power
        small = -torch.expm1(steps * torch.log1p(-z.clamp(max=0.5)))
        grown = torch.where(z < 0.5, small, 1 - (1 - z) ** steps)
        safe = lam.abs() > 1e-12 * lam.abs().max()
        gain = torch.where(safe, grown / torch.where(safe, lam, torch.ones_like(lam)),
                           torch.full_like(lam, steps * lr / n))
    return g0 - Kx @ (V @ (gain * (V.T @ (f0 - y))))
