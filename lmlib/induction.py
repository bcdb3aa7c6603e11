"""Measuring induction heads: attention scores, per-region losses, head ablations.

An induction head (Olsson et al. 2022) at a position holding token A attends to the
position just *after* an earlier occurrence of A and copies the token it finds there.
On a sequence ``[s, s, filler]`` (see :mod:`lmlib.data.sequences`) the position q of
the second copy holds ``s[q − L]``, whose earlier occurrence is at q − L, so an
induction head at q attends to q − L + 1. Its partner, a *previous-token head* in an
earlier layer, attends from every position to the one before it.
"""
from __future__ import annotations

import torch
from torch import nn

from lmlib._checks import check_tensor
from lmlib.data.sequences import InductionData
from lmlib.models.transformer import next_token_loss

__all__ = ["induction_score", "previous_token_score", "region_losses", "attention_patterns", "induction_observables"]


def _check_attention(attention: torch.Tensor) -> torch.Tensor:
    attention = check_tensor("attention", attention, ndim=5, floating=True)
    if attention.shape[-1] != attention.shape[-2]:
        raise ValueError(f"attention must be [layers, batch, heads, T, T], got {tuple(attention.shape)}")
    return attention


def induction_score(attention: torch.Tensor, data: InductionData) -> torch.Tensor:
    """Mean attention from each second-copy position q to q − L + 1, per layer and head.

    The average is over query positions q = L, …, 2L − 2 (where the token after the
    earlier occurrence lies before q) of every sequence. A perfect induction head
    scores 1; a head attending uniformly over its causal past scores about 1/q.

    Args:
        attention: ``[layers, batch, heads, T, T]`` patterns (``model(x, return_attention=True)``).
        data: the sequences the patterns were computed on (``len(data) == batch``).

    Returns:
        ``[layers, heads]`` scores in [0, 1].
    """
    attention = _check_attention(attention)
    n, t = data.tokens.shape
    if attention.shape[1] != n or attention.shape[-1] != t:
        raise ValueError(f"attention {tuple(attention.shape)} does not match data of shape {(n, t)}")
    q = torch.arange(t, device=attention.device).expand(n, t)
    L = data.lengths.to(attention.device)[:, None]
    queries = (q >= L) & (q <= 2 * L - 2)                          # [n, T]
    keys = (q - L + 1).clamp(min=0)                                # the induction target of each query
    # a[l, b, h, q] = attention from q to keys[b, q]
    a = attention.gather(-1, keys.view(1, n, 1, t, 1).expand(*attention.shape[:-1], 1)).squeeze(-1)
    w = queries.to(attention.dtype).view(1, n, 1, t)
    return (a * w).sum((1, 3)) / w.sum((1, 3))


def previous_token_score(attention: torch.Tensor) -> torch.Tensor:
    """Mean attention from each position q ≥ 1 to q − 1, per layer and head (``[layers, heads]``)."""
    attention = _check_attention(attention)
    prev = torch.diagonal(attention, offset=-1, dim1=-2, dim2=-1)   # [layers, batch, heads, T-1]
    return prev.mean((1, 3))


def attention_patterns(model: nn.Module, data: InductionData) -> torch.Tensor:
    """Every head's attention on ``data`` (``[layers, batch, heads, T, T]``), without gradients."""
    with torch.no_grad():
        return model(data.tokens, return_attention=True)[1]


def region_losses(model: nn.Module, data: InductionData, *, head_mask: torch.Tensor | None = None
                  ) -> dict[str, torch.Tensor]:
    """Next-token loss (nats) on the first copy, the repeated copy, and overall.

    Args:
        model: a :class:`lmlib.models.TinyTransformer` (or any model with the same call).
        data: the sequences.
        head_mask: optional ``[layers, heads]`` factors (0 ablates a head).

    Returns:
        ``{"first": …, "repeat": …, "all": …}`` scalar tensors; the first copy's loss
        cannot go below log V, the repeated copy's can go to 0.
    """
    with torch.no_grad():
        logits = model(data.tokens, head_mask=head_mask) if head_mask is not None else model(data.tokens)
        return {"first": next_token_loss(logits, data.tokens, data.first),
                "repeat": next_token_loss(logits, data.tokens, data.repeat),
                "all": next_token_loss(logits, data.tokens)}


def induction_observables(data: InductionData, *, example: int = 0) -> dict:
    """The ``record=`` dict for watching an induction head form on probe sequences ``data``.

    Returns name → ``fn(model)``: ``"first"`` and ``"repeat"`` (region losses, nats),
    ``"induction"`` and ``"prev_token"`` (``[layers, heads]`` scores) and ``"pattern"``
    (``[layers, heads, T, T]`` attention on sequence ``example``, for pictures).
    """
    one = data[example:example + 1]
    return {
        "first": lambda m: region_losses(m, data)["first"],
        "repeat": lambda m: region_losses(m, data)["repeat"],
        "induction": lambda m: induction_score(attention_patterns(m, data), data),
        "prev_token": lambda m: previous_token_score(attention_patterns(m, data)),
        "pattern": lambda m: attention_patterns(m, one)[:, 0],
    }
