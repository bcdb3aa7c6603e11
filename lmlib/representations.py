"""Comparing the representations of many networks at once (Kornblith et al. 2019; Huh et al. 2024).

A chapter on representational convergence trains ensembles, pulls the penultimate
features of every member on one probe set, and compares them pairwise. The pieces:

* :func:`stacked_init` — the initial parameters of a list of models, stacked like
  ``EnsembleHistory.params``, so trained and untrained members go through the same code;
* :func:`member_features` — features of every member of a stacked parameter dict, in one
  ``vmap`` call;
* :func:`pairwise`, :func:`mean_pairwise` and :func:`mean_to_reference` — average similarity (linear CKA or
  mutual k-NN from :mod:`lmlib.metrics`) across pairs of members, or from each member to a
  reference representation;
* :func:`spearman` — rank correlation, the statistic a "similarity rises with X" claim is checked with.
"""
from __future__ import annotations

from itertools import combinations
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import stack_module_state, vmap

from lmlib._checks import check_choice, check_int, check_tensor
from lmlib.metrics import linear_cka, mutual_knn

__all__ = ["stacked_init", "member_features", "similarity", "pairwise", "mean_pairwise", "mean_to_reference", "spearman"]


def stacked_init(models: Sequence[nn.Module]) -> dict[str, Tensor]:
    """Parameters and buffers of ``models`` stacked along a new leading member axis (detached copies).

    Raises:
        ValueError: if ``models`` is empty.
    """
    models = list(models)
    if not models:
        raise ValueError("models is empty")
    params, buffers = stack_module_state(models)
    return {k: v.detach().clone() for k, v in (params | buffers).items()}


def member_features(features: Callable[[Mapping[str, Tensor], Tensor], Tensor],
                    params: Mapping[str, Tensor], x: Tensor) -> Tensor:
    """``features(state, x)`` for every member of stacked ``params``: ``[N, n, width]``.

    Args:
        features: a pure function of one member's parameter dict and the inputs, e.g.
            :func:`lmlib.collapse.mlp_features`.
        params: stacked parameters, name → ``[N, ...]`` (``EnsembleHistory.params``).
        x: probe inputs ``[n, ...]``, shared by all members.
    """
    if not callable(features):
        raise TypeError(f"features must be a callable (state, x) -> Tensor, got {type(features).__name__}")
    x = check_tensor("x", x)
    with torch.no_grad():
        return vmap(lambda p: features(p, x))(dict(params))


def similarity(X: Tensor | np.ndarray, Y: Tensor | np.ndarray, metric: str = "cka", *, k: int = 10) -> float:
    """Linear CKA (``metric="cka"``) or mutual k-NN alignment (``"mknn"``) of two representations."""
    check_choice("metric", metric, ["cka", "mknn"])
    return linear_cka(X, Y) if metric == "cka" else mutual_knn(X, Y, k)


def _reps(name: str, reps) -> Tensor:
    reps = check_tensor(name, reps, ndim=3)
    return reps


def pairwise(reps: Tensor | np.ndarray, metric: str = "cka", *, k: int = 10) -> np.ndarray:
    """:func:`similarity` of every pair i < j of members of ``reps`` ``[N, n, width]`` (N ≥ 2).

    Returns:
        Array of the N(N−1)/2 values, pairs in the order of ``itertools.combinations``.

    Raises:
        ValueError: if ``reps`` is not 3-D or has fewer than two members.
    """
    reps = _reps("reps", reps)
    if reps.shape[0] < 2:
        raise ValueError(f"reps needs at least 2 members to form pairs, got {reps.shape[0]}")
    return np.array([similarity(reps[i], reps[j], metric, k=k) for i, j in combinations(range(reps.shape[0]), 2)])


def mean_pairwise(reps: Tensor | np.ndarray, metric: str = "cka", *, k: int = 10) -> float:
    """Mean of :func:`pairwise` over all pairs of members."""
    return float(pairwise(reps, metric, k=k).mean())


def mean_to_reference(reps: Tensor | np.ndarray, reference: Tensor | np.ndarray, metric: str = "cka", *,
                      k: int = 10) -> np.ndarray:
    """:func:`similarity` of each member of ``reps`` ``[N, n, width]`` to one ``reference`` ``[n, d]``: ``[N]``."""
    reps = _reps("reps", reps)
    return np.array([similarity(r, reference, metric, k=k) for r in reps])


def spearman(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Spearman rank correlation of two equal-length sequences (ties get average ranks).

    Raises:
        ValueError: if the lengths differ, there are fewer than 3 points, or either is constant.
    """
    from scipy.stats import rankdata

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D of one length, got shapes {x.shape} and {y.shape}")
    check_int("len(x)", x.size, minimum=3)
    rx, ry = rankdata(x), rankdata(y)
    if rx.std() == 0 or ry.std() == 0:
        raise ValueError("x and y must not be constant: the rank correlation is undefined")
    return float(np.corrcoef(rx, ry)[0, 1])
