"""Finite depth and finite step size as discretization errors of a limit, in closed form.

A residual network with branch scale 1/L is the forward Euler method for a neural ODE in
layer time s = l/L (global error ∝ L⁻¹); with scale L^(−½) and Brownian weights it is the
Euler–Maruyama method for an SDE (pathwise error ∝ L^(−½)); gradient descent is forward
Euler for gradient flow in time t = η·k (error ∝ η), and it solves the modified flow of
L̃ = L + (η/4)‖∇L‖² (Barrett & Dherin 2021) one order better (∝ η²). This module holds
the orders and the one case where everything is explicit: a quadratic loss ½·h·θ².
"""
from __future__ import annotations

import math

import numpy as np

from lmlib._checks import check_choice, check_real

__all__ = ["ORDERS", "order", "quadratic_gd", "quadratic_flow", "quadratic_modified_rate",
           "quadratic_gd_rate", "depth_for_error"]

ORDERS = {
    "ode": 1.0,      # forward Euler on a smooth vector field: global error ∝ (1/L)¹
    "sde": 0.5,      # Euler–Maruyama, non-commuting multiplicative noise: strong order ½
    "flow": 1.0,     # gradient descent vs gradient flow at fixed time: ∝ η¹
    "modified": 2.0,  # gradient descent vs the modified flow: ∝ η²
}


def order(limit: str) -> float:
    """The order p of the discretization error ∝ h^p for ``"ode"``, ``"sde"``, ``"flow"`` or ``"modified"``."""
    return ORDERS[check_choice("limit", limit, list(ORDERS))]


def _h_lr(h, lr):
    h = check_real("h", h, positive=True)
    lr = check_real("lr", lr, positive=True)
    return h, lr


def quadratic_gd(h: float, lr: float, steps, theta0: float = 1.0) -> np.ndarray:
    """Gradient descent on L = ½·h·θ²: θ_k = (1 − ηh)^k·θ₀ at the given step(s)."""
    h, lr = _h_lr(h, lr)
    return check_real("theta0", theta0) * (1.0 - lr * h) ** np.asarray(steps, dtype=np.float64)


def quadratic_flow(h: float, t, theta0: float = 1.0) -> np.ndarray:
    """Gradient flow on L = ½·h·θ²: θ(t) = e^{−ht}·θ₀."""
    h = check_real("h", h, positive=True)
    return check_real("theta0", theta0) * np.exp(-h * np.asarray(t, dtype=np.float64))


def quadratic_modified_rate(h: float, lr: float) -> float:
    """Decay rate of the modified flow on L = ½·h·θ²: L̃ = ½·h·(1 + ηh/2)·θ², rate h·(1 + ηh/2)."""
    h, lr = _h_lr(h, lr)
    return h * (1.0 + 0.5 * lr * h)


def quadratic_gd_rate(h: float, lr: float) -> float:
    """The rate descent actually achieves per unit time, −ln(1 − ηh)/η = h·(1 + ηh/2 + (ηh)²/3 + …).

    Raises:
        ValueError: if ηh ≥ 1 (descent then overshoots or diverges: no exponential rate).
    """
    h, lr = _h_lr(h, lr)
    if lr * h >= 1:
        raise ValueError(f"lr·h must be < 1 for a monotone decay, got {lr * h:g}")
    return -math.log1p(-lr * h) / lr


def depth_for_error(error: float, depth: int, target: float, limit: str) -> float:
    """How deep a network of the same family must be for its error to fall from ``error`` to ``target``.

    With error ∝ L^(−p), L_target = L·(error/target)^(1/p), p = :func:`order` (``"ode"`` or ``"sde"``).
    """
    error = check_real("error", error, positive=True)
    target = check_real("target", target, positive=True)
    depth = check_real("depth", depth, positive=True)
    return depth * (error / target) ** (1.0 / order(limit))
