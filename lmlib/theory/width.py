"""Width exponents of the first update: what SP, the NTK parameterization and μP predict.

For the network ``x ∈ R^d → h₁ = W₁x → h₂ = W₂φ(h₁) → f = W₃φ(h₂)`` with two hidden layers
of width n and a fixed input dimension d, every parameterization of the book initialises the
input and hidden layers "stably" (h₁, h₂ have Θ(1) coordinates at init). What differs is the
size of the *effective* readout weights, W₃ ~ n^(−s), and of each layer's effective step.
Counting powers of n in one step of training (Yang & Hu 2021, the abc-parameterizations):

* a rank-one update of a layer, ΔW = u·zᵀ aligned with its own input z, moves that layer's
  output by (entry size of ΔW) × (number of coherent terms in the sum);
* an update of an earlier layer reaches the next layer through W·Δz, which for a stable hidden
  layer is Θ(1)·Δz (the change is correlated with W through the backward pass), and reaches
  the output through W₃·Δz₂ ~ n^(1−s)·Δh₂ (n coherent terms of size n^(−s)).

With the entry size of ΔW_l written n^(−q_l), the leading orders are

    Δh₁ ~ n^(−q₁),   Δh₂ ~ n^max(1 − q₂, −q₁),   Δf ~ n^max(1 − q₃, 1 − s + e₂),

and q_l is the learning-rate exponent r_l plus, for SGD, the exponent of the gradient entry
(n^(−s) for W₁ and W₂, whose backward signal passes through W₃; Θ(1) for W₃). Adam's first
step is lr·sign(g), so its entries carry no gradient factor. The exponents are leading orders
assuming no cancellations, which is what a coordinate check measures.
"""
from __future__ import annotations

from typing import Sequence

from lmlib._checks import check_choice, check_real

__all__ = ["PARAMETERIZATIONS", "first_step_exponents", "update_exponents"]

# (s, (r₁, r₂, r₃) for SGD, (r₁, r₂, r₃) for Adam): the readout-init exponent and the exponents
# of each layer's *effective* learning rate, with the base lr held fixed as n grows.
# NTK: weights w ~ N(0, 1) used as w/√fan_in; an SGD step of size η on w moves the effective
# weight by η/fan_in · gradient (r = 0, 1, 1; the input fan-in d is fixed), an Adam step by
# η/√fan_in (r = 0, ½, ½). μP: Yang et al. (2022), Table 3, lr η·n, η, η/n (SGD) and η, η/n, η/n (Adam).
PARAMETERIZATIONS: dict[str, tuple[float, tuple[float, float, float], tuple[float, float, float]]] = {
    "sp": (0.5, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
    "ntk": (0.5, (0.0, 1.0, 1.0), (0.0, 0.5, 0.5)),
    "mup": (1.0, (-1.0, 0.0, 1.0), (0.0, 1.0, 1.0)),
}


def first_step_exponents(readout_exponent: float, lr_exponents: Sequence[float], *,
                         optimizer: str = "sgd") -> tuple[float, float, float]:
    """Width exponents (e₁, e₂, e_f) of Δh₁, Δh₂, Δf after one step, for any readout scale and rates.

    Args:
        readout_exponent: s, with the effective readout entries W₃ ~ n^(−s) at init
            (½ in SP and NTK, 1 in μP).
        lr_exponents: (r₁, r₂, r₃): layer l's effective learning rate scales as n^(−r_l)
            (negative r means a rate that grows with width).
        optimizer: ``"sgd"`` or ``"adam"`` (Adam's first step is sign-like).

    Returns:
        (e₁, e₂, e_f): Δh₁ ∝ n^e₁, Δh₂ ∝ n^e₂, Δf ∝ n^e_f (root-mean-square per coordinate).

    Raises:
        ValueError: if ``lr_exponents`` does not have three entries or ``optimizer`` is unknown.
    """
    s = check_real("readout_exponent", readout_exponent)
    check_choice("optimizer", optimizer, ["sgd", "adam"])
    if isinstance(lr_exponents, (str, bytes)) or len(lr_exponents) != 3:
        raise ValueError(f"lr_exponents must be three numbers (r1, r2, r3), got {lr_exponents!r}")
    r1, r2, r3 = (check_real(f"lr_exponents[{i}]", r) for i, r in enumerate(lr_exponents))
    # SGD: ∂f/∂W₁ and ∂f/∂W₂ carry the backward signal through W₃ (n^(−s)); ∂f/∂W₃ = φ(h₂) is Θ(1).
    g = (s, s, 0.0) if optimizer == "sgd" else (0.0, 0.0, 0.0)
    q1, q2, q3 = r1 + g[0], r2 + g[1], r3 + g[2]
    e1 = 0.0 - q1  # 0.0 − q, not −q: no negative zero in printed tables
    e2 = max(1.0 - q2, e1)
    ef = max(1.0 - q3, 1.0 - s + e2)
    return e1, e2, ef


def update_exponents(parameterization: str, *, optimizer: str = "sgd",
                     lr_exponent: float = 0.0) -> tuple[float, float, float]:
    """Predicted width exponents of (Δh₁, Δh₂, Δf) after one step in a named parameterization.

    Example:
        >>> update_exponents("sp")            # SP at a fixed learning rate
        (-0.5, 0.5, 1.0)
        >>> update_exponents("mup", optimizer="adam")
        (0.0, 0.0, 0.0)

    Args:
        parameterization: ``"sp"``, ``"ntk"`` or ``"mup"``.
        optimizer: ``"sgd"`` or ``"adam"``.
        lr_exponent: the base learning rate scales as n^(−lr_exponent) (0: held fixed;
            1: SP's usual remedy lr ∝ 1/n).

    Returns:
        (e₁, e₂, e_f) as :func:`first_step_exponents`.
    """
    check_choice("parameterization", parameterization, list(PARAMETERIZATIONS))
    check_choice("optimizer", optimizer, ["sgd", "adam"])
    a = check_real("lr_exponent", lr_exponent)
    s, r_sgd, r_adam = PARAMETERIZATIONS[parameterization]
    r = r_sgd if optimizer == "sgd" else r_adam
    return first_step_exponents(s, [ri + a for ri in r], optimizer=optimizer)
