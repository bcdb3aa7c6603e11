"""Neural collapse along a training run: last-layer features, their class geometry, over time.

:func:`lmlib.metrics.neural_collapse` measures NC1–NC4 of one set of features. A
chapter wants them along training, for several members of an ensemble: record the
features with :func:`mlp_features` (a pure function of a parameter dict, so it runs
under ``train_ensemble``'s ``vmap``), then reduce the records with
:func:`collapse_history`. :func:`class_mean_cosines` gives the pairwise angles that
NC2 says approach arccos(−1/(C−1)) (Papyan, Han & Donoho 2020).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch
from torch import Tensor

from lmlib._checks import check_choice, check_tensor
from lmlib.metrics import neural_collapse

__all__ = ["mlp_features", "collapse_history", "class_mean_cosines"]

_ACT = {"relu": torch.relu, "tanh": torch.tanh, "linear": lambda h: h}


def mlp_features(state: Mapping[str, Tensor], x: Tensor, *, activation: str = "relu",
                 multipliers: tuple[float, ...] | None = None) -> Tensor:
    """Penultimate-layer features of an :class:`lmlib.models.MLP` given its parameter dict.

    Runs every hidden layer ``linears.0 … linears.{L−2}`` (with its activation) and stops
    before the readout ``linears.{L−1}``. Written over the dict, not the module, so it
    works on one member's state inside ``train_ensemble(record=...)``.

    Args:
        state: parameter dict with keys ``linears.{i}.weight`` (and ``.bias`` if present).
        x: inputs ``[n, d_in]``.
        activation: ``"relu"``, ``"tanh"`` or ``"linear"``; must match the MLP's.
        multipliers: the MLP's per-layer output multipliers (``model.multipliers``; all 1
            in the standard parameterization, the default).

    Returns:
        Features ``[n, width]`` of the last hidden layer.

    Raises:
        ValueError: if ``state`` has fewer than two linear layers or the activation is unknown.
    """
    check_choice("activation", activation, list(_ACT))
    n_layers = 0
    while f"linears.{n_layers}.weight" in state:
        n_layers += 1
    if n_layers < 2:
        raise ValueError(f"state must hold an MLP with at least 2 linear layers, found {n_layers}")
    act = _ACT[activation]
    h = x
    for i in range(n_layers - 1):
        h = h @ state[f"linears.{i}.weight"].T
        if f"linears.{i}.bias" in state:
            h = h + state[f"linears.{i}.bias"]
        h = act(h * (multipliers[i] if multipliers else 1.0))
    return h


def collapse_history(
    features: np.ndarray | Tensor,
    labels: np.ndarray | Tensor,
    W: np.ndarray | Tensor | None = None,
    b: np.ndarray | Tensor | None = None,
) -> dict[str, np.ndarray]:
    """NC1–NC4 (:func:`lmlib.metrics.neural_collapse`) at every record of every member.

    Args:
        features: recorded features ``[T, N, n, d]`` (records × members × examples × width),
            as ``train_ensemble(record={"h": ...})["h"]`` returns them; ``[T, n, d]`` for one run.
        labels: integer class labels ``[n]``, shared by all members.
        W: readout weights ``[T, N, C, d]`` (or ``[T, C, d]``), optional.
        b: readout biases ``[T, N, C]`` (or ``[T, C]``), optional.

    Returns:
        dict name → array ``[T, N]`` (``[T]`` for one run) for ``nc1``, ``nc2``,
        ``nc2_equinorm``, ``nc2_angles``, and, with W, ``nc3`` and ``nc4``.

    Raises:
        ValueError: if the leading shapes of features, W and b disagree.
    """
    H = check_tensor("features", features, ndim=(3, 4))
    single = H.ndim == 3
    lead = H.shape[:-2]
    arrays = {"W": W, "b": b}
    for name, value in arrays.items():
        if value is None:
            continue
        value = check_tensor(name, value)
        want = H.ndim - (0 if name == "W" else 1)
        if value.ndim != want or tuple(value.shape[: len(lead)]) != tuple(lead):
            raise ValueError(f"{name} must have leading shape {tuple(lead)} like features "
                             f"and {want} dims, got {tuple(value.shape)}")
        arrays[name] = value.reshape(-1, *value.shape[len(lead):])
    flat = H.reshape(-1, *H.shape[-2:])
    rows = [neural_collapse(flat[k], labels,
                            None if arrays["W"] is None else arrays["W"][k],
                            None if arrays["b"] is None else arrays["b"][k]) for k in range(flat.shape[0])]
    keys = [k for k, v in rows[0].items() if v is not None]
    out = {k: np.array([r[k] for r in rows], dtype=np.float64).reshape(tuple(lead)) for k in keys}
    return out if not single else {k: v.reshape(-1) for k, v in out.items()}


def class_mean_cosines(features: np.ndarray | Tensor, labels: np.ndarray | Tensor) -> np.ndarray:
    """Cosines between the globally centred class means, for every pair c < c'.

    The centring is by the mean of the class means, as in
    :func:`lmlib.metrics.neural_collapse`. At NC2 every entry is −1/(C−1)
    (:func:`lmlib.theory.collapse.etf_cosine`).

    Args:
        features: ``[n, d]``.
        labels: integer labels ``[n]`` with at least 2 classes.

    Returns:
        Array of the C(C−1)/2 pairwise cosines (pairs in row-major order of the upper triangle).

    Raises:
        TypeError, ValueError: for non-numeric input, mismatched lengths, or fewer than 2 classes.
    """
    H = check_tensor("features", features, ndim=2).detach().to(torch.float64)
    y = check_tensor("labels", labels, ndim=1)
    if y.is_floating_point() or y.dtype == torch.bool:
        raise TypeError(f"labels must have an integer dtype, got {y.dtype}")
    if y.shape[0] != H.shape[0]:
        raise ValueError(f"labels must have one entry per row of features ({H.shape[0]}), got {y.shape[0]}")
    classes, inv = torch.unique(y.to(H.device), return_inverse=True)
    C = classes.numel()
    if C < 2:
        raise ValueError(f"labels must contain at least 2 classes, got {C}")
    counts = torch.bincount(inv, minlength=C).to(H)
    means = torch.zeros(C, H.shape[1], dtype=torch.float64, device=H.device).index_add_(0, inv, H) / counts[:, None]
    M = means - means.mean(0)
    M = M / M.norm(dim=1, keepdim=True).clamp_min(torch.finfo(torch.float64).tiny)
    iu = torch.triu_indices(C, C, offset=1)
    return (M @ M.T)[iu[0], iu[1]].cpu().numpy()
