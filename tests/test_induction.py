import math

import pytest
import torch

from lmlib.data import induction_sequences
from lmlib.induction import (
    induction_observables, induction_score, previous_token_score, region_losses,
)
from lmlib.models import TinyTransformer
from lmlib.models.transformer import next_token_loss
from lmlib.online_training import linear_decay, train_online
from lmlib.theory.induction import chance_induction_score, first_copy_floor


def test_induction_sequences_repeat_their_segment():
    d = induction_sequences(200, vocab=10, context=32, min_len=3, max_len=12, seed=4)
    assert d.tokens.shape == (200, 32) and d.first.shape == d.repeat.shape == (200, 31)
    assert int(d.lengths.min()) >= 3 and int(d.lengths.max()) <= 12
    for i in range(200):
        L = int(d.lengths[i])
        assert torch.equal(d.tokens[i, :L], d.tokens[i, L:2 * L])
        # masks index predictions of token i+1: first copy 1..L-1, repeated copy L+1..2L-1
        assert d.first[i].nonzero().flatten().tolist() == list(range(0, L - 1))
        assert d.repeat[i].nonzero().flatten().tolist() == list(range(L, 2 * L - 1))
    assert torch.equal(d.tokens, induction_sequences(200, vocab=10, min_len=3, max_len=12, seed=4).tokens)
    assert len(d[:5]) == 5
    with pytest.raises(ValueError, match="context"):
        induction_sequences(4, context=20, max_len=16)
    with pytest.raises(ValueError, match="max_len"):
        induction_sequences(4, min_len=8, max_len=6)


def test_transformer_is_causal_and_patterns_are_distributions():
    torch.manual_seed(0)
    m = TinyTransformer(16, 12, n_layers=2, n_heads=2, d_model=8, seed=1)
    x = torch.randint(16, (3, 12))
    with torch.no_grad():
        logits, attn = m(x, return_attention=True)
    assert logits.shape == (3, 12, 16) and attn.shape == (2, 3, 2, 12, 12)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 3, 2, 12))
    assert float(attn.triu(1).abs().max()) == 0.0
    x2 = x.clone()
    x2[:, 7:] = (x2[:, 7:] + 1) % 16          # change the future only
    with torch.no_grad():
        torch.testing.assert_close(m(x2)[:, :7], logits[:, :7])
        torch.testing.assert_close(m(x, head_mask=torch.ones(2, 2)), logits)
    with pytest.raises(ValueError, match="divide"):
        TinyTransformer(16, 12, n_heads=3, d_model=8)
    with pytest.raises(ValueError, match="head_mask"):
        m(x, head_mask=torch.ones(3))
    with pytest.raises(ValueError, match="exceeds context"):
        m(torch.zeros(1, 13, dtype=torch.long))


def test_all_heads_ablated_leaves_a_per_position_function():
    # With every head off, position i's logits depend only on token i and position i.
    m = TinyTransformer(16, 10, seed=2)
    x = torch.randint(16, (2, 10), generator=torch.Generator().manual_seed(0))
    y = x.clone()
    y[:, :5] = (y[:, :5] + 3) % 16
    off = torch.zeros(2, 2)
    torch.testing.assert_close(m(x, head_mask=off)[:, 5:], m(y, head_mask=off)[:, 5:])


def test_next_token_loss_and_uniform_floor():
    tokens = torch.randint(7, (4, 9))
    logits = torch.zeros(4, 9, 7)
    assert math.isclose(float(next_token_loss(logits, tokens)), math.log(7), rel_tol=1e-6)
    mask = torch.zeros(4, 8, dtype=torch.bool)
    mask[:, 0] = True
    logits[:, 0] = -1e4
    logits[torch.arange(4), 0, tokens[:, 1]] = 0.0   # certain and right at the masked position
    assert float(next_token_loss(logits, tokens, mask)) < 1e-6
    assert first_copy_floor(64) == math.log(64)
    with pytest.raises(ValueError, match="mask"):
        next_token_loss(logits, tokens, mask[:, :3])


def test_region_losses_of_a_uniform_model_are_log_v():
    m = TinyTransformer(64, 32, seed=0)
    with torch.no_grad():
        m.unembed.zero_()
    d = induction_sequences(16, seed=1)
    for v in region_losses(m, d).values():
        assert math.isclose(float(v), math.log(64), rel_tol=1e-6)


def _uniform_causal(n, t):
    a = torch.ones(t, t).tril()
    return (a / a.sum(-1, keepdim=True)).expand(1, n, 1, t, t).clone()


def test_induction_score_perfect_and_chance():
    d = induction_sequences(2000, seed=3)
    n, t = d.tokens.shape
    # uniform causal attention: the score is 1/(q+1) pooled over queries, whose mean is the closed form
    chance = float(induction_score(_uniform_causal(n, t), d))
    assert abs(chance - chance_induction_score(6, 16)) < 1e-3
    # a perfect induction head
    pos = torch.arange(t)
    L = d.lengths[:, None]
    target = torch.where((pos >= L) & (pos <= 2 * L - 2), pos - L + 1, pos)   # [n, t]
    perfect = torch.nn.functional.one_hot(target, t).float().view(1, n, 1, t, t)
    assert float(induction_score(perfect, d)) == pytest.approx(1.0)
    shifted = torch.diag_embed(torch.ones(t - 1), offset=-1).expand(1, n, 1, t, t)
    assert float(previous_token_score(shifted)) == pytest.approx(1.0)
    assert float(induction_score(shifted, d)) < 0.05
    with pytest.raises(ValueError, match="does not match"):
        induction_score(perfect[:, :5], d)


def test_chance_score_closed_form_small_case():
    # L = 3 only: queries q = 3, 4 → (1/4 + 1/5)/2
    assert chance_induction_score(3, 3) == pytest.approx((1 / 4 + 1 / 5) / 2)
    with pytest.raises(ValueError):
        chance_induction_score(5, 4)


def test_linear_decay():
    f = linear_decay(10, 6)
    assert [f(s) for s in (0, 5, 6, 8, 10)] == [1.0, 1.0, 1.0, 0.5, 0.0]
    with pytest.raises(ValueError, match="start"):
        linear_decay(10, 10)


def test_train_online_matches_a_hand_loop():
    w_true = torch.tensor([[1.0, -2.0, 0.5]])
    g = torch.Generator().manual_seed(0)
    xs = torch.randn(21, 8, 3, generator=g)
    batches = lambda t: (xs[t], xs[t] @ w_true.T)
    loss = lambda m, b: ((m(b[0]) - b[1]) ** 2).mean()
    torch.manual_seed(0)
    a = torch.nn.Linear(3, 1)
    b = torch.nn.Linear(3, 1)
    b.load_state_dict(a.state_dict())
    sched = linear_decay(20, 10)
    hist = train_online(a, batches, loss, lr=0.05, steps=20, optimizer="adam", betas=(0.8, 0.9),
                        lr_schedule=sched, record={"w": lambda m: m.weight}, record_every=5)
    opt = torch.optim.Adam(b.parameters(), lr=0.05, betas=(0.8, 0.9))
    lam = torch.optim.lr_scheduler.LambdaLR(opt, sched)
    for t in range(20):
        opt.zero_grad()
        loss(b, batches(t)).backward()
        opt.step()
        lam.step()
    torch.testing.assert_close(a.weight, b.weight)
    assert hist.steps.tolist() == [0, 5, 10, 15, 20] and hist["w"].shape == (5, 1, 3)
    assert hist.loss[-1] < hist.loss[0]
    with pytest.raises(TypeError, match="batches"):
        train_online(a, None, loss, lr=0.1, steps=1)
    with pytest.raises(ValueError, match="betas"):
        train_online(a, batches, loss, lr=0.1, steps=1, betas=(0.9, 1.0))


def test_induction_observables_shapes():
    m = TinyTransformer(64, 32, seed=0)
    d = induction_sequences(8, seed=0)
    obs = induction_observables(d)
    assert obs["induction"](m).shape == (2, 2) and obs["pattern"](m).shape == (2, 2, 32, 32)
    assert float(obs["first"](m)) > 3.0
