import math

import numpy as np
import pytest
import torch

from lmlib.data import modular_addition
from lmlib.fourier import fourier_basis, frequency_power, key_frequencies, top_k_share
from lmlib.models import ModularMLP


def test_modular_addition_split_and_labels():
    d = modular_addition(11, train_fraction=0.4, seed=3)
    assert len(d.x_train) == round(0.4 * 121) and len(d.x_train) + len(d.x_test) == 121
    allx = torch.cat([d.x_train, d.x_test])
    assert len({tuple(r) for r in allx.tolist()}) == 121                  # every pair once
    torch.testing.assert_close(d.y_train, (d.x_train[:, 0] + d.x_train[:, 1]) % 11)
    torch.testing.assert_close(d.y_test, (d.x_test[:, 0] + d.x_test[:, 1]) % 11)
    assert torch.equal(d.x_train, modular_addition(11, train_fraction=0.4, seed=3).x_train)
    assert not torch.equal(d.x_train, modular_addition(11, train_fraction=0.4, seed=4).x_train)
    with pytest.raises(ValueError, match="empty"):
        modular_addition(5, train_fraction=0.01)


def test_modular_mlp_shapes_and_embedding_use():
    m = ModularMLP(13, d_embed=8, hidden=16, seed=0)
    x = torch.tensor([[1, 2], [2, 1], [0, 0]])
    out = m(x)
    assert out.shape == (3, 13)
    assert not torch.allclose(out[0], out[1])         # order matters: [E[a], E[b]] is not symmetric
    with pytest.raises(ValueError, match=r"\[n, 2\]"):
        m(torch.tensor([1, 2]))


def test_fourier_basis_is_orthonormal():
    b = fourier_basis(7)
    torch.testing.assert_close(b @ b.T, torch.eye(7, dtype=torch.float64))
    with pytest.raises(ValueError, match="odd"):
        fourier_basis(8)


def test_frequency_power_finds_a_planted_frequency_and_obeys_parseval():
    p, d = 31, 5
    a = torch.arange(p, dtype=torch.float64)
    rng = np.random.default_rng(0)
    w = torch.stack([torch.cos(2 * math.pi * 4 * a / p + rng.uniform(0, 6)) for _ in range(d)], 1)
    w = w + 0.3 * torch.sin(2 * math.pi * 9 * a / p)[:, None] + 2.0
    power = frequency_power(w)
    assert power.shape == ((p - 1) // 2 + 1,)
    assert math.isclose(power.sum(), float((w ** 2).sum()), rel_tol=1e-10)           # Parseval
    assert key_frequencies(power, 2).tolist() == [4, 9]
    assert top_k_share(power, 2) == pytest.approx(1.0)
    assert top_k_share(power, 1) == pytest.approx(d * p / 2 / (d * p / 2 + d * 0.09 * p / 2))
    assert top_k_share(power, 1, include_constant=True) < top_k_share(power, 2, include_constant=True)
    with pytest.raises(ValueError, match="exceeds"):
        top_k_share(power, 99)


def test_random_embedding_is_not_sparse():
    w = torch.randn(59, 128, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    share = top_k_share(frequency_power(w), 5)
    assert 5 / 29 < share < 5 / 29 + 0.08           # about k/K: every frequency carries its share


def test_frequency_power_torch_path_runs_under_vmap():
    from torch.func import vmap
    w = torch.randn(3, 11, 4, generator=torch.Generator().manual_seed(1))
    batched = vmap(frequency_power)(w)
    assert batched.shape == (3, 6)
    np.testing.assert_allclose(batched[1].double().numpy(), frequency_power(w[1].double().numpy()), rtol=1e-5)


def test_null_share_matches_random_matrices():
    from lmlib.fourier import null_top_k_share
    g = torch.Generator().manual_seed(2)
    shares = [top_k_share(frequency_power(torch.randn(31, 16, generator=g, dtype=torch.float64)), 3)
              for _ in range(200)]
    assert abs(np.mean(shares) - null_top_k_share(31, 16, 3, seed=1)) < 0.01
    assert null_top_k_share(31, 16, 15) == pytest.approx(1.0)


def test_fourier_circuit_adds_mod_p():
    from lmlib.theory.grokking import chance_accuracy, fourier_logits, weight_decay_half_life
    p = 23
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    logits = fourier_logits(a, b, p, [3, 7, 11], [1.0, 0.5, 2.0])
    assert logits.shape == (p, p, p)
    np.testing.assert_array_equal(logits.argmax(-1), (a + b) % p)
    # one frequency k with gcd(k, p) = 1 already suffices
    np.testing.assert_array_equal(fourier_logits(a, b, p, [5]).argmax(-1), (a + b) % p)
    half = weight_decay_half_life(1e-3, 1.0)
    assert (1 - 1e-3) ** half == pytest.approx(0.5)
    assert chance_accuracy(59) == pytest.approx(1 / 59)
    with pytest.raises(ValueError, match="< 1"):
        weight_decay_half_life(1.0, 2.0)


def test_sum_explained_separates_circuit_from_table():
    from lmlib.fourier import sum_explained
    from lmlib.theory.grokking import fourier_logits
    p = 17
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    assert sum_explained(fourier_logits(a, b, p, [2, 5]) + 3.0) == pytest.approx(1.0)
    table = torch.randn(p, p, p, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert sum_explained(table) < 0.1
    with pytest.raises(ValueError, match=r"\[p, p, p\]"):
        sum_explained(table[:, :, :3])
