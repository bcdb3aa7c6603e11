"""Token sequences with a repeated random segment: the task on which induction heads form.

Each sequence is ``[s, s, filler]``: a random segment ``s`` of length L (drawn per
sequence), the same segment again, then random filler up to the context length
(Olsson et al. 2022). In the first copy every next token is uniformly random, so
no model can beat a loss of log V there; in the second copy every token after the
first is predictable by "find the previous occurrence of the current token and copy
what came after it" — the induction algorithm.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from lmlib._checks import check_int

__all__ = ["InductionData", "induction_sequences"]


@dataclass
class InductionData:
    """A batch of repeated-segment sequences and the positions that matter.

    Attributes:
        tokens: ``[n, context]`` token ids (int64).
        lengths: ``[n]`` the segment length L of each sequence.
        first: ``[n, context - 1]`` bool, predictions inside the first copy (entry i
            predicts token i + 1; true for i + 1 in 1 … L − 1): irreducible loss log V.
        repeat: ``[n, context - 1]`` bool, predictions inside the second copy after its
            first token (i + 1 in L + 1 … 2L − 1): solvable by induction.
    """

    tokens: torch.Tensor
    lengths: torch.Tensor
    first: torch.Tensor
    repeat: torch.Tensor

    def to(self, device) -> "InductionData":
        """The same data on ``device``."""
        return InductionData(*(t.to(device) for t in (self.tokens, self.lengths, self.first, self.repeat)))

    def __getitem__(self, idx) -> "InductionData":
        """A sub-batch (rows ``idx``)."""
        return InductionData(self.tokens[idx], self.lengths[idx], self.first[idx], self.repeat[idx])

    def __len__(self) -> int:
        return len(self.tokens)


def induction_sequences(n: int, *, vocab: int = 64, context: int = 32, min_len: int = 6,
                        max_len: int = 16, seed: int = 0) -> InductionData:
    """``n`` sequences ``[segment, segment, filler]`` with segment length L ~ U{min_len … max_len}.

    A segment length drawn per sequence matters: with a fixed L a model can learn
    "copy the token L back" from positions alone instead of an induction head.

    Args:
        n: number of sequences.
        vocab: vocabulary size V (tokens are uniform on 0 … V − 1).
        context: sequence length; must be at least ``2 * max_len``.
        min_len, max_len: range of the segment length (inclusive).
        seed: seed of the draw.

    Returns:
        An :class:`InductionData`.

    Raises:
        ValueError: if the lengths do not fit the context or are out of order.
    """
    n = check_int("n", n, minimum=1)
    vocab = check_int("vocab", vocab, minimum=2)
    context = check_int("context", context, minimum=4)
    min_len = check_int("min_len", min_len, minimum=2)
    max_len = check_int("max_len", max_len, minimum=min_len)
    if 2 * max_len > context:
        raise ValueError(f"context={context} must be >= 2 * max_len = {2 * max_len}")
    gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    lengths = torch.randint(min_len, max_len + 1, (n,), generator=gen)
    segment = torch.randint(vocab, (n, max_len), generator=gen)
    filler = torch.randint(vocab, (n, context), generator=gen)
    pos = torch.arange(context).expand(n, context)
    L = lengths[:, None]
    in_first, in_second = pos < L, (pos >= L) & (pos < 2 * L)
    # Position j of the second copy repeats position j − L of the first.
    src = torch.where(in_second, pos - L, pos).clamp(max=max_len - 1)
    tokens = torch.where(in_first | in_second, segment.gather(1, src), filler)
    target = pos[:, 1:]                       # prediction i is of token i + 1
    first = (target >= 1) & (target < L)
    repeat = (target >= L + 1) & (target < 2 * L)
    return InductionData(tokens, lengths, first, repeat)
