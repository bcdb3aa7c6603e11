"""Closed forms for the repeated-segment task of the induction-head chapter.

Two numbers need no training to predict. In the first copy of the segment every
next token is uniform on V symbols and independent of the past, so the best
possible expected loss there is exactly log V (cross-entropy ≥ entropy). And an
attention head that attends uniformly over its causal past — what a freshly
initialised head with small attention logits does — puts weight 1/(q + 1) on any
one key from query position q, which fixes the induction score a head has by chance.
"""
from __future__ import annotations

import math

import numpy as np

from lmlib._checks import check_int

__all__ = ["first_copy_floor", "chance_induction_score"]


def first_copy_floor(vocab: int) -> float:
    """The least achievable expected next-token loss (nats) on i.i.d. uniform tokens: log V."""
    return math.log(check_int("vocab", vocab, minimum=2))


def chance_induction_score(min_len: int, max_len: int) -> float:
    """Expected induction score of a head with uniform causal attention.

    The score averages, over every sequence and every query q = L … 2L − 2 of its
    second copy, the attention from q to q − L + 1; uniform attention gives 1/(q + 1).
    Pooling queries over sequences weights each segment length L by its L − 1 queries:

        score = Σ_L Σ_{q=L}^{2L−2} 1/(q + 1)  /  Σ_L (L − 1),   L uniform on min_len … max_len.

    Raises:
        ValueError: unless 2 <= min_len <= max_len.
    """
    min_len = check_int("min_len", min_len, minimum=2)
    max_len = check_int("max_len", max_len, minimum=min_len)
    lengths = np.arange(min_len, max_len + 1)
    num = sum(np.sum(1.0 / (np.arange(L, 2 * L - 1) + 1)) for L in lengths)
    return float(num / np.sum(lengths - 1))
