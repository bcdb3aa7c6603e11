"""Closed-form learning dynamics of a two-layer deep linear network (Saxe, McClelland & Ganguli 2014).

Setting: inputs whitened (mean x xᵀ = I), target map M = Σ_i s_i a_i b_iᵀ, network
f(x) = W2 W1 x trained on L = ½·mean‖y − f(x)‖² by gradient descent with learning
rate η. With a decoupled, balanced initialisation (each layer aligned with the
target's singular vectors, end-to-end strength u0 in every mode) the modes evolve
independently. The strength u_i = a_iᵀ W2 W1 b_i obeys, in gradient-flow time
τ = η·t,

    du/dτ = 2u(s − u),

a logistic equation: the factor 2 is the two layers each contributing √u of the
growth. Its solution is u(τ) = s·e^{2sτ} / (e^{2sτ} − 1 + s/u0).
"""
from __future__ import annotations

import numpy as np

__all__ = ["mode_strength", "mode_strength_discrete", "half_time", "loss_curve", "lazy_trajectory"]


def _numpy(a) -> np.ndarray:
    # Accept tensors on any device (and Parameters) as well as arrays.
    if hasattr(a, "detach"):
        a = a.detach().cpu()
    return np.asarray(a, dtype=np.float64)


def _validate(s, u0, lr):
    s = np.asarray(s, dtype=np.float64)
    u0 = np.asarray(u0, dtype=np.float64)
    if np.any(~np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"s (singular values) must be positive and finite, got {s}")
    if np.any(~np.isfinite(u0)) or np.any(u0 <= 0):
        raise ValueError(f"u0 (initial mode strength) must be positive and finite, got {u0}")
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be positive and finite, got {lr}")
    return s, u0, float(lr)


def mode_strength(t, s, u0, lr: float = 1.0) -> np.ndarray:
    """Strength of one singular mode after ``t`` steps of gradient descent (gradient-flow limit).

    Args:
        t: step number(s), float or array; with ``lr=1`` it is continuous time τ.
        s: the target's singular value for this mode (or an array, broadcast against ``t``).
        u0: the mode's strength at initialisation (> 0).
        lr: learning rate η; the flow time is τ = η·t.

    Returns:
        u(t) = s·e^{2sτ} / (e^{2sτ} − 1 + s/u0), broadcast over the inputs, as float64.

    Raises:
        ValueError: if ``s``, ``u0`` or ``lr`` is not positive.

    Example:
        >>> float(mode_strength(0, 3.0, 1e-3, 0.01))
        0.001
    """
    s, u0, lr = _validate(s, u0, lr)
    tau = lr * np.asarray(t, dtype=np.float64)
    # Written with e^{-2sτ} so large times do not overflow: u = s / (1 + (s/u0 − 1)·e^{−2sτ}).
    return s / (1.0 + (s / u0 - 1.0) * np.exp(-2.0 * s * tau))


def half_time(s, u0, lr: float = 1.0) -> np.ndarray:
    """Steps until a mode reaches half its final strength, u = s/2.

    Setting u(τ) = s/2 in the closed form gives τ½ = ln(s/u0 − 1) / (2s): a mode's
    learning time scales as (1/s)·log(s/u0), so stronger modes are learned first
    and smaller initialisations lengthen every plateau.

    Raises:
        ValueError: if ``u0 >= s/2`` for some mode (it starts past half-strength).
    """
    s, u0, lr = _validate(s, u0, lr)
    if np.any(u0 >= s / 2):
        raise ValueError(f"half_time needs u0 < s/2 (the mode must start below half-strength); got s={s}, u0={u0}")
    return np.log(s / u0 - 1.0) / (2.0 * s) / lr


def loss_curve(t, s, u0, lr: float = 1.0, residual: float = 0.0) -> np.ndarray:
    """Training loss ½·Σ_i (s_i − u_i(t))² + residual predicted for all modes together.

    With whitened inputs the loss ½·mean‖y − W2W1x‖² equals ½‖M − W2W1‖_F², which the
    decoupled modes split into a sum over singular values.

    Args:
        t: step number(s), shape ``[T]`` (or scalar).
        s: the target's singular values, shape ``[r]``.
        u0: initial strength, scalar or ``[r]``.
        lr: learning rate.
        residual: loss the network cannot remove (e.g. target noise), added as is.

    Returns:
        Array of shape ``[T]`` (or scalar).
    """
    s = np.atleast_1d(np.asarray(s, dtype=np.float64))
    u0 = np.broadcast_to(np.asarray(u0, dtype=np.float64), s.shape)
    t = np.asarray(t, dtype=np.float64)
    u = mode_strength(t[..., None], s, u0, lr)
    return 0.5 * ((s - u) ** 2).sum(-1) + residual


def mode_strength_discrete(steps: int, s, u0, lr: float) -> np.ndarray:
    """Mode strengths under *discrete* gradient descent, exactly, for steps 0…``steps``.

    With balanced layers each carrying a = √u of a mode, one GD step is
    a ← a + η·a(s − a²), hence u ← u·(1 + η(s − u))². Iterating this map is exact
    for the decoupled network (no gradient-flow approximation); comparing it with
    :func:`mode_strength` shows the discretisation error, which is O(η).

    Returns:
        Array ``[steps + 1, *broadcast(s, u0).shape]``.
    """
    s, u0, lr = _validate(s, u0, lr)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    s, u = np.broadcast_arrays(s, u0)
    out = np.empty((int(steps) + 1, *s.shape))
    out[0] = u
    for k in range(int(steps)):  # a scalar recursion: each step depends on the last
        out[k + 1] = out[k] * (1.0 + lr * (s - out[k])) ** 2
    return out


def lazy_trajectory(steps, w1, w2, target, lr: float):
    """End-to-end map of a two-layer linear network under its *linearisation* at init.

    Freezing the layers in the gradient (the lazy / kernel regime, Chizat et al. 2019)
    turns GD on ½‖M − W2W1‖_F² into a linear recursion for the error E = M − W2W1:

        E_{k+1} = E_k − η (E_k K1 + K2 E_k),   K1 = W1ᵀW1,  K2 = W2W2ᵀ  (at init),

    solved exactly in the eigenbases of K1 and K2: each entry of the rotated error
    decays as (1 − η(κ2_i + κ1_j))^k. A large initialisation makes K1, K2 large and
    the true dynamics stays close to this; a small one makes them vanish, and the
    linearisation predicts (wrongly) that the network barely learns.

    Args:
        steps: step numbers, shape ``[T]`` (ints >= 0).
        w1: first layer at init, ``[h, d_in]``; w2: second layer at init, ``[d_out, h]``.
        target: M, ``[d_out, d_in]``.
        lr: learning rate η.

    Returns:
        Array ``[T, d_out, d_in]``: the predicted W2W1 at each step (float64 NumPy).
    """
    w1, w2, m = (_numpy(a) for a in (w1, w2, target))
    if w1.ndim != 2 or w2.ndim != 2 or m.shape != (w2.shape[0], w1.shape[1]) or w2.shape[1] != w1.shape[0]:
        raise ValueError(f"need w1 [h, d_in], w2 [d_out, h], target [d_out, d_in]; got "
                         f"{w1.shape}, {w2.shape}, {m.shape}")
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be positive and finite, got {lr}")
    k = np.asarray(steps, dtype=np.float64)
    if k.ndim != 1 or np.any(k < 0):
        raise ValueError("steps must be a 1-d array of non-negative step numbers")
    kap1, v1 = np.linalg.eigh(w1.T @ w1)
    kap2, v2 = np.linalg.eigh(w2 @ w2.T)
    e0 = v2.T @ (m - w2 @ w1) @ v1
    factor = 1.0 - lr * (kap2[:, None] + kap1[None, :])
    e = e0[None] * np.power(factor[None], k[:, None, None])
    return m[None] - v2[None] @ e @ v1.T[None]
