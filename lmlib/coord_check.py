"""Coordinate checks (Yang & Hu 2021): how far a few steps move each layer's activations, vs width.

Train MLPs ``d → n → n → 1`` (ReLU, no biases) of several widths n for a few steps on one
fixed batch, and measure the root-mean-square change per coordinate of the hidden
pre-activations h₁, h₂ and of the output f. Under a parameterization with a well-defined
feature-learning limit (μP) those changes are Θ(1) in n; under the NTK parameterization they
vanish as n^(−½) (the lazy limit); under SP at a fixed learning rate some of them blow up.
The fitted width exponents are compared with :mod:`lmlib.theory.width`.

Two details make the fits clean (REFERENCE_SETUPS): the loss is ½·mean(f − f₀ − y)², so the
output at initialisation (Θ(1) in SP, random in sign) does not enter the first gradients; and
at small widths the squared changes are averaged over many initialisations
(``max(1, init_budget // n)`` per width), so every width's estimate has similar noise.
All initialisations of one width train as one vmapped :func:`lmlib.ensemble.train_ensemble` run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from lmlib._checks import check_choice, check_int, check_real
from lmlib.metrics import fit_power_law
from lmlib.models import MLP, mup_lr_multipliers

__all__ = ["CoordCheck", "coord_check", "OBSERVABLES"]

OBSERVABLES = ("h1", "h2", "f")


@dataclass
class CoordCheck:
    """The result of :func:`coord_check`.

    Attributes:
        widths: the widths n, shape ``[W]``.
        steps: the steps t at which changes were measured, ``1 … steps``, shape ``[T]``.
        delta: ``"h1"``, ``"h2"``, ``"f"`` → RMS change per coordinate ``‖x_t − x_0‖``, ``[T, W]``
            (NaN where a run diverged).
        init_rms: the same observables' RMS size at initialisation, ``[W]``.
        loss: mean training loss over the initialisations, ``[T + 1, W]`` (from step 0).
        parameterization, optimizer, lr: the setting.
    """

    widths: np.ndarray
    steps: np.ndarray
    delta: dict[str, np.ndarray]
    init_rms: dict[str, np.ndarray]
    loss: np.ndarray = field(repr=False)
    parameterization: str = "sp"
    optimizer: str = "sgd"
    lr: float = 0.1

    def exponents(self, step: int = 1) -> dict[str, float]:
        """Fitted width exponent of each observable's change after ``step`` steps (log–log slope).

        Raises:
            ValueError: if ``step`` was not measured, or a change there is not finite and positive
                (a diverged run).
        """
        step = check_int("step", step, minimum=1)
        if step not in self.steps:
            raise ValueError(f"step must be one of {self.steps.tolist()}, got {step}")
        t = int(np.flatnonzero(self.steps == step)[0])
        return {k: fit_power_law(self.widths, v[t])[0] for k, v in self.delta.items()}


def _activations(multipliers: Sequence[float], x: torch.Tensor):
    """Observables h₁, h₂, f of one member's params dict (pure tensor code: runs under vmap)."""
    m1, m2, m3 = multipliers

    def h1(p):
        return m1 * (x @ p["linears.0.weight"].T)

    def h2(p):
        return m2 * (torch.relu(h1(p)) @ p["linears.1.weight"].T)

    def f(p):
        return m3 * (torch.relu(h2(p)) @ p["linears.2.weight"].T)

    return {"h1": h1, "h2": h2, "f": f}


def coord_check(
    widths: Sequence[int],
    parameterization: str = "sp",
    *,
    lr: float,
    optimizer: str = "sgd",
    steps: int = 3,
    d_in: int = 8,
    n_data: int = 32,
    init_budget: int = 1024,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> CoordCheck:
    """Measure how much ``steps`` steps of training move h₁, h₂ and f, at every width.

    Example:
        >>> cc = coord_check([64, 256, 1024], "mup", lr=1.0, seed=lmlib.seed(0))
        >>> cc.exponents(step=1)                 # ≈ {'h1': 0, 'h2': 0, 'f': 0}

    Args:
        widths: hidden widths n (ints ≥ 1, at least two distinct).
        parameterization: ``"sp"``, ``"ntk"`` or ``"mup"`` (:class:`lmlib.models.MLP`); μP also
            gets its per-layer learning rates from :func:`lmlib.models.mup_lr_multipliers`.
        lr: the base learning rate η (held fixed across widths).
        optimizer: ``"sgd"`` (plain, full batch) or ``"adam"``.
        steps: number of updates; changes are measured after each.
        d_in: input dimension (fixed as n grows).
        n_data: size of the fixed batch of Gaussian inputs with Gaussian random targets.
        init_budget: ``max(1, init_budget // n)`` initialisations are averaged at width n.
        seed: seeds the batch and every initialisation.
        device: where to train (default :func:`lmlib.config.device`).

    Returns:
        A :class:`CoordCheck`; ``.exponents(t)`` gives the fitted width exponents.

    Raises:
        TypeError, ValueError: on bad arguments.
    """
    from lmlib.config import device as default_device
    from lmlib.ensemble import train_ensemble

    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) and not hasattr(widths, "__len__"):
        raise TypeError(f"widths must be a sequence of ints, got {type(widths).__name__}")
    widths = [check_int(f"widths[{i}]", int(w) if isinstance(w, np.integer) else w, minimum=1)
              for i, w in enumerate(widths)]
    if len(set(widths)) < 2:
        raise ValueError(f"widths needs at least two distinct values to fit an exponent, got {widths}")
    check_choice("parameterization", parameterization, ["sp", "ntk", "mup"])
    check_choice("optimizer", optimizer, ["sgd", "adam"])
    lr = check_real("lr", lr, positive=True)
    steps, d_in, n_data = (check_int(k, v, minimum=1) for k, v in
                           (("steps", steps), ("d_in", d_in), ("n_data", n_data)))
    init_budget = check_int("init_budget", init_budget, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    dev = torch.device(device) if device is not None else default_device()

    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n_data, d_in, generator=gen).to(dev)
    y = torch.randn(n_data, 1, generator=gen).to(dev)
    delta = {k: np.empty((steps, len(widths))) for k in OBSERVABLES}
    init_rms = {k: np.empty(len(widths)) for k in OBSERVABLES}
    loss = np.empty((steps + 1, len(widths)))
    for j, n in enumerate(widths):
        n_init = max(1, init_budget // n)
        seeds = torch.randint(2**31 - 1, (n_init,), generator=gen).tolist()
        models = [MLP((d_in, n, n, 1), "relu", parameterization=parameterization, bias=False, seed=s).to(dev)
                  for s in seeds]
        with torch.no_grad():
            f0 = torch.stack([m(x) for m in models])
        # Targets y + f₀ make the ensemble's ½·mean(y' − f)² the check's ½·mean(f − f₀ − y)².
        param_lr = mup_lr_multipliers(models[0], optimizer=optimizer) if parameterization == "mup" else None
        hist = train_ensemble(models, x.expand(n_init, -1, -1), y + f0, lr=lr, steps=steps,
                              optimizer=optimizer, param_lr=param_lr, member_data=True,
                              record=_activations(models[0].multipliers, x), allow_divergence=True)
        for k in OBSERVABLES:
            v = hist[k]                                               # [T + 1, N, n_data, width]
            delta[k][:, j] = np.sqrt(((v[1:] - v[:1]) ** 2).mean(axis=(1, 2, 3)))
            init_rms[k][j] = np.sqrt((v[0] ** 2).mean())
        loss[:, j] = hist["loss"].mean(axis=1)
    return CoordCheck(widths=np.asarray(widths), steps=np.arange(1, steps + 1), delta=delta,
                      init_rms=init_rms, loss=loss, parameterization=parameterization,
                      optimizer=optimizer, lr=lr)
