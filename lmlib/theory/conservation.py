"""Symmetries and the conservation laws they imply for gradient flow and gradient descent.

A loss that is invariant under a continuous family of reparameterisations has a
Noether identity among its gradients (Kunin et al. 2021):

* **Rescaling** (ReLU or linear hidden unit j): W_in[j] → α·W_in[j], b_in[j] → α·b_in[j],
  W_out[:, j] → W_out[:, j]/α leaves the function unchanged, so
  ⟨W_in[j], g_in[j]⟩ + b_in[j]·g_b[j] = ⟨W_out[:, j], g_out[:, j]⟩ for the loss gradients g.
  Under gradient flow the per-unit *charge* Q_j = ‖W_in[j]‖² + b_in[j]² − ‖W_out[:, j]‖²
  is therefore constant.
* **GL(h)** (deep linear network W2·W1): W1 → A·W1, W2 → W2·A⁻¹, so W1·g1ᵀ = W2ᵀ·g2 and
  the *balancedness* G = W1·W1ᵀ − W2ᵀ·W2 is constant under gradient flow
  (Arora et al. 2018; Du et al. 2018).

Gradient descent with step η and (coupled, SGD-style) weight decay λ,
W ← (1 − ηλ)·W − η·g, keeps the identity but not the invariance. Expanding the squares,
the cross terms cancel *exactly* by the Noether identity and what is left is

    Q_{k+1} = (1 − ηλ)²·Q_k + η²·(‖g_in‖² − ‖g_out‖²)        (the same form for G),

an exact law, not an approximation. Heavy-ball momentum (torch's SGD: v ← μ·v + g + λW,
W ← W − η·v) gives an exact two-term recursion, :func:`momentum_charges`.

Here the charges and the recursions are plain tensor/array functions; the chapter
measures the same quantities on a trained network and compares.
"""
from __future__ import annotations

import math

import numpy as np

from lmlib._checks import check_real

__all__ = ["neuron_charges", "balancedness", "gd_charge_step", "gd_charges", "momentum_charges",
           "flow_decay", "charge_half_life"]


def neuron_charges(w_in, w_out, b_in=None):
    """The rescaling charge Q_j = ‖W_in[j]‖² + b_in[j]² − ‖W_out[:, j]‖² of every hidden unit.

    Works on torch tensors (also under ``vmap``, e.g. as an ensemble observable) and on
    NumPy arrays, returning the same kind. The same formula applied to *gradients* gives the source term ‖g_in‖² − ‖g_out‖² of the
    descent law.

    Args:
        w_in: incoming weights ``[..., h, d_in]`` (rows are units), e.g. ``linear1.weight``.
        w_out: outgoing weights ``[..., d_out, h]`` (columns are units), e.g. ``linear2.weight``.
        b_in: optional incoming biases ``[..., h]`` (they rescale with the unit).

    Returns:
        ``[..., h]``: one charge per hidden unit.

    Raises:
        ValueError: if the hidden dimensions do not match.
    """
    if w_in.shape[-2] != w_out.shape[-1]:
        raise ValueError(f"w_in has {w_in.shape[-2]} units (rows) but w_out has {w_out.shape[-1]} "
                         f"(columns); shapes {tuple(w_in.shape)} and {tuple(w_out.shape)}")
    q = (w_in ** 2).sum(-1) - (w_out ** 2).sum(-2)
    if b_in is not None:
        if b_in.shape[-1] != w_in.shape[-2]:
            raise ValueError(f"b_in must have one entry per unit ({w_in.shape[-2]}), got shape {tuple(b_in.shape)}")
        q = q + b_in ** 2
    return q


def balancedness(w1, w2):
    """G = W1·W1ᵀ − W2ᵀ·W2 of a two-layer linear map W2·W1, shape ``[..., h, h]``.

    Works on torch tensors (also under ``vmap``) and on NumPy arrays.

    Args:
        w1: first layer ``[..., h, d_in]``.
        w2: second layer ``[..., d_out, h]``.

    Raises:
        ValueError: if the hidden dimensions do not match.
    """
    if w1.shape[-2] != w2.shape[-1]:
        raise ValueError(f"w1 is [h={w1.shape[-2]}, d_in] but w2 is [d_out, h={w2.shape[-1]}]")
    return w1 @ w1.swapaxes(-1, -2) - w2.swapaxes(-1, -2) @ w2


def _array(name: str, value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu()
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def gd_charge_step(q, source, lr: float, weight_decay: float = 0.0) -> np.ndarray:
    """One step of the exact descent law Q' = (1 − ηλ)²·Q + η²·source.

    Args:
        q: the charge(s) (or balancedness matrix) before the step.
        source: the same quadratic form applied to the loss gradients at that step,
            ‖g_in‖² − ‖g_out‖² (or g1·g1ᵀ − g2ᵀ·g2); broadcast against ``q``.
        lr: step size η > 0.
        weight_decay: coupled weight decay λ ≥ 0 (the ``weight_decay`` of ``torch.optim.SGD``).

    Returns:
        The charge after the step, float64.
    """
    lr = check_real("lr", lr, positive=True)
    weight_decay = check_real("weight_decay", weight_decay, nonnegative=True)
    return (1.0 - lr * weight_decay) ** 2 * _array("q", q) + lr ** 2 * _array("source", source)


def gd_charges(q0, sources, lr: float, weight_decay: float = 0.0) -> np.ndarray:
    """Iterate :func:`gd_charge_step` along a run: the charges at steps 0 … K.

    Args:
        q0: charges at step 0, shape ``[...]``.
        sources: the source term at steps 0 … K−1, shape ``[K, ...]``.
        lr, weight_decay: as in :func:`gd_charge_step`.

    Returns:
        ``[K + 1, ...]`` predicted charges (row 0 is ``q0``).

    Raises:
        ValueError: if ``sources`` does not have a leading step axis matching ``q0``.
    """
    q0, sources = _array("q0", q0), _array("sources", sources)
    if sources.shape[1:] != q0.shape:
        raise ValueError(f"sources must be [K, *q0.shape] = [K, {', '.join(map(str, q0.shape))}], "
                         f"got {sources.shape}")
    out = [q0]
    for src in sources:
        out.append(gd_charge_step(out[-1], src, lr, weight_decay))
    return np.stack(out)


def momentum_charges(q0, velocity_sources, lr: float, momentum: float, weight_decay: float = 0.0) -> np.ndarray:
    """The exact charge recursion of heavy-ball SGD (torch's ``SGD(momentum=μ, weight_decay=λ)``).

    With v_k = μ·v_{k−1} + g_k + λ·W_k (v_{−1} = 0) and W_{k+1} = W_k − η·v_k, write
    P_k = Δ⟨W_k, v_k⟩ and R_k = Δ‖v_k‖² (Δ: incoming minus outgoing, per unit). The
    Noether identity removes every gradient cross term, leaving

        P_k = μ·(P_{k−1} − η·R_{k−1}) + λ·Q_k,      Q_{k+1} = Q_k − 2η·P_k + η²·R_k,

    with P_{−1} = R_{−1} = 0. For μ = 0 it reduces to :func:`gd_charges`.

    Args:
        q0: charges at step 0, shape ``[...]``.
        velocity_sources: R_k = ‖v_in‖² − ‖v_out‖² at steps 0 … K−1, shape ``[K, ...]``
            (v is the momentum buffer that was applied at step k).
        lr: step size η > 0.
        momentum: μ in [0, 1).
        weight_decay: λ ≥ 0.

    Returns:
        ``[K + 1, ...]`` predicted charges.
    """
    lr = check_real("lr", lr, positive=True)
    momentum = check_real("momentum", momentum, nonnegative=True)
    if momentum >= 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    weight_decay = check_real("weight_decay", weight_decay, nonnegative=True)
    q0, r = _array("q0", q0), _array("velocity_sources", velocity_sources)
    if r.shape[1:] != q0.shape:
        raise ValueError(f"velocity_sources must be [K, *q0.shape], got {r.shape} for q0 {q0.shape}")
    q, p_prev, r_prev = [q0], np.zeros_like(q0), np.zeros_like(q0)
    for r_k in r:
        p_k = momentum * (p_prev - lr * r_prev) + weight_decay * q[-1]
        q.append(q[-1] - 2 * lr * p_k + lr ** 2 * r_k)
        p_prev, r_prev = p_k, r_k
    return np.stack(q)


def flow_decay(t, weight_decay: float) -> np.ndarray:
    """Gradient flow with weight decay: dQ/dt = −2λQ, so Q(t)/Q(0) = e^{−2λt}.

    Args:
        t: flow time(s) τ = η·steps.
        weight_decay: λ ≥ 0.
    """
    weight_decay = check_real("weight_decay", weight_decay, nonnegative=True)
    return np.exp(-2.0 * weight_decay * _array("t", t))


def charge_half_life(lr: float, weight_decay: float) -> float:
    """Steps of gradient descent with weight decay until the charges' decay factor is ½.

    The homogeneous part of the descent law multiplies Q by (1 − ηλ)² per step, so
    k½ = ln 2 / (−2·ln(1 − ηλ)) ≈ ln 2 / (2ηλ), the flow's half-life τ½ = ln 2/(2λ) in steps.

    Args:
        lr: step size η > 0.
        weight_decay: λ > 0 with ηλ < 1.

    Raises:
        ValueError: if ηλ is not in (0, 1).
    """
    lr = check_real("lr", lr, positive=True)
    weight_decay = check_real("weight_decay", weight_decay, positive=True)
    if lr * weight_decay >= 1:
        raise ValueError(f"lr·weight_decay must be < 1 for a decay, got {lr * weight_decay:g}")
    return math.log(2.0) / (-2.0 * math.log1p(-lr * weight_decay))
