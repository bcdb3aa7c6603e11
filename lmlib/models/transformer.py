"""A tiny attention-only transformer, small enough to read every attention pattern.

The model of Elhage et al. (2021) and Olsson et al. (2022): token embedding plus a
learned positional embedding, a stack of causal multi-head attention layers that
write into a residual stream (no MLPs, no per-layer LayerNorm), one final
LayerNorm and an unembedding. With no MLPs every computation is a composition
of attention heads, which is what makes induction heads visible: a head in layer
1 that copies "the previous token" into each position, and a head in layer 2 that
keys on it.

``forward`` returns next-token logits; ``forward(x, return_attention=True)`` also
returns every head's attention pattern, and ``head_mask`` scales each head's
output (0 ablates it) for causal interventions.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from lmlib._checks import check_int, check_real, check_tensor

__all__ = ["TinyTransformer", "next_token_loss"]


class TinyTransformer(nn.Module):
    """An attention-only causal transformer over a small vocabulary.

    Layout: ``h = E[x] + P[pos]``; for each layer ``h ← h + Σ_heads Attn(h)``;
    logits ``= U · LayerNorm(h) + b``. Each head has its own query, key and value
    maps of width ``d_model // n_heads`` and writes back through the layer's output map.

    Args:
        vocab: vocabulary size V.
        context: maximum sequence length (rows of the positional embedding).
        n_layers: number of attention layers (1 cannot form an induction head; 2 can).
        n_heads: heads per layer; must divide ``d_model``.
        d_model: width of the residual stream.
        pos_std: standard deviation of the learned positional embedding at
            initialisation (0.1 in the book's induction-head setting).
        seed: seed for the initialisation.

    Raises:
        ValueError: if a size is not a positive int or ``n_heads`` does not divide ``d_model``.
    """

    def __init__(self, vocab: int, context: int, *, n_layers: int = 2, n_heads: int = 2,
                 d_model: int = 32, pos_std: float = 0.1, seed: int = 0) -> None:
        super().__init__()
        self.vocab = check_int("vocab", vocab, minimum=2)
        self.context = check_int("context", context, minimum=1)
        self.n_layers = check_int("n_layers", n_layers, minimum=1)
        self.n_heads = check_int("n_heads", n_heads, minimum=1)
        self.d_model = check_int("d_model", d_model, minimum=1)
        if d_model % n_heads:
            raise ValueError(f"n_heads={n_heads} must divide d_model={d_model}")
        pos_std = check_real("pos_std", pos_std, nonnegative=True)
        self.d_head = d_model // n_heads
        gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))

        def normal(*shape: int, std: float) -> nn.Parameter:
            return nn.Parameter(torch.randn(*shape, generator=gen) * std)

        # Token embedding of unit-scale rows; positions start small (pos_std) so that
        # the model first sees tokens, and position-based heads have to be learned.
        self.embed = normal(vocab, d_model, std=1.0)
        self.pos = normal(context, d_model, std=pos_std)
        # Stacked per layer: qkv maps d_model → 3·d_model, out maps d_model → d_model. The scale
        # 1/√(3·fan_in) is the standard deviation of torch's nn.Linear default; at 1/√fan_in the
        # attention logits start larger and the induction head formed far later on the book's task.
        std = 1.0 / math.sqrt(3 * d_model)
        self.qkv = normal(n_layers, 3 * d_model, d_model, std=std)
        self.out = normal(n_layers, d_model, d_model, std=std)
        self.ln = nn.LayerNorm(d_model)
        self.unembed = normal(vocab, d_model, std=std)
        self.unembed_bias = nn.Parameter(torch.zeros(vocab))
        self.register_buffer("causal", torch.ones(context, context).tril().bool(), persistent=False)

    def forward(self, x: torch.Tensor, *, head_mask: torch.Tensor | None = None,
                return_attention: bool = False):
        """Next-token logits for token ids ``x`` of shape ``[batch, T]`` (T ≤ context).

        Args:
            x: integer token ids.
            head_mask: optional ``[n_layers, n_heads]`` factors multiplying each head's
                output (0 ablates a head, 1 keeps it).
            return_attention: also return the attention patterns.

        Returns:
            logits ``[batch, T, vocab]``; with ``return_attention`` a pair
            ``(logits, attention)`` where attention is ``[n_layers, batch, n_heads, T, T]``
            (row = query position, column = key position, rows sum to 1).
        """
        if x.ndim != 2:
            raise ValueError(f"x must have shape [batch, T], got {tuple(x.shape)}")
        b, t = x.shape
        if t > self.context:
            raise ValueError(f"sequence length {t} exceeds context={self.context}")
        if head_mask is not None and tuple(head_mask.shape) != (self.n_layers, self.n_heads):
            raise ValueError(f"head_mask must have shape {(self.n_layers, self.n_heads)}, "
                             f"got {tuple(head_mask.shape)}")
        h = self.embed[x] + self.pos[:t]
        mask = self.causal[:t, :t]
        patterns = []
        for layer in range(self.n_layers):
            q, k, v = (h @ self.qkv[layer].T).split(self.d_model, dim=-1)
            q, k, v = (z.view(b, t, self.n_heads, self.d_head).transpose(1, 2) for z in (q, k, v))
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.d_head)
            attn = scores.masked_fill(~mask, float("-inf")).softmax(-1)       # [b, heads, T, T]
            z = attn @ v                                                      # [b, heads, T, d_head]
            if head_mask is not None:
                z = z * head_mask[layer].to(z.dtype).view(1, -1, 1, 1)
            h = h + z.transpose(1, 2).reshape(b, t, self.d_model) @ self.out[layer].T
            patterns.append(attn)
        logits = self.ln(h) @ self.unembed.T + self.unembed_bias
        if return_attention:
            return logits, torch.stack(patterns)
        return logits


def next_token_loss(logits: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy of predicting ``tokens[:, i + 1]`` from ``logits[:, i]``.

    Args:
        logits: ``[batch, T, vocab]`` from a model fed ``tokens``.
        tokens: ``[batch, T]`` token ids.
        mask: optional ``[batch, T - 1]`` bool: which predictions to average over
            (entry i is the prediction of token i + 1); all of them if None.

    Returns:
        The mean loss in nats, a scalar tensor.
    """
    tokens = check_tensor("tokens", tokens, ndim=2)
    if logits.ndim != 3 or logits.shape[:2] != tokens.shape:
        raise ValueError(f"logits must be [batch, T, vocab] matching tokens {tuple(tokens.shape)}, "
                         f"got {tuple(logits.shape)}")
    nll = nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), tokens[:, 1:], reduction="none")
    if mask is None:
        return nll.mean()
    if mask.shape != nll.shape:
        raise ValueError(f"mask must have shape {tuple(nll.shape)}, got {tuple(mask.shape)}")
    return (nll * mask).sum() / mask.sum().clamp(min=1)
