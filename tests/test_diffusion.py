import math

import pytest
import torch

from lmlib import diffusion as df
from lmlib.models.denoisers import FiLMMLP, TinyUNet


def test_coefficients_at_sigma_data():
    sd = 0.5
    c_skip, c_out, c_in, c_noise = df.edm_coefficients(torch.tensor([sd]), sd)
    assert c_skip.item() == pytest.approx(0.5)
    assert c_out.item() == pytest.approx(sd / math.sqrt(2))
    assert c_in.item() == pytest.approx(1 / (sd * math.sqrt(2)))
    assert c_noise.item() == pytest.approx(math.log(sd) / 4)
    sig = torch.tensor([0.01, 1.0, 30.0])
    _, c_out, c_in, _ = df.edm_coefficients(sig, sd)
    # the loss weight undoes c_out², and c_in gives the noisy input unit variance when Var(y) = σ_d²
    assert torch.allclose(df.edm_loss_weight(sig, sd) * c_out ** 2, torch.ones(3))
    assert torch.allclose(c_in ** 2 * (sd ** 2 + sig ** 2), torch.ones(3))
    with pytest.raises(ValueError, match="sigma"):
        df.edm_coefficients(torch.tensor([0.0]))


def test_precondition_of_a_zero_network_is_the_skip():
    x = torch.randn(5, 3)
    out = df.precondition(lambda xx, cn: torch.zeros_like(xx), x, torch.tensor(2.0))
    assert torch.allclose(out, x * 0.25 / (4 + 0.25))


def test_karras_sigmas():
    s = df.karras_sigmas(18, 0.002, 20.0)
    assert len(s) == 19 and s[-1] == 0
    assert s[0].item() == pytest.approx(20.0) and s[-2].item() == pytest.approx(0.002)
    assert (s[1:] < s[:-1]).all()
    with pytest.raises(ValueError, match="sigma_min"):
        df.karras_sigmas(10, 1.0, 0.5)


def test_heun_reproduces_a_gaussian_with_its_exact_denoiser():
    # data N(mu, s² I): the optimal denoiser is linear and the probability-flow ODE is solved by
    # x − mu ∝ sqrt(s² + σ²), so each sample is known in closed form from its noise
    mu, s, smax = 0.3, 0.7, 20.0
    exact = lambda x, sigma: mu + s ** 2 / (s ** 2 + sigma ** 2) * (x - mu)  # noqa: E731
    z = torch.randn(2000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    predicted = mu + (smax * z - mu) * s / math.sqrt(s ** 2 + smax ** 2)
    err = {}
    for n in (18, 36):
        out = df.heun_sample(exact, z, df.karras_sigmas(n, 0.002, smax))
        err[n] = ((out - predicted).abs() / (predicted - mu).abs()).max().item()
    assert err[18] < 0.04                      # 18 steps: every sample within 4 % of the exact flow
    assert err[36] / err[18] < 0.3             # second order: halving the step quarters the error
    assert out.std().item() == pytest.approx(s, rel=0.03)
    with pytest.raises(ValueError, match="decreasing"):
        df.heun_sample(exact, z, torch.tensor([1.0, 2.0, 0.0]))


def test_models_shapes_and_validation():
    x, c = torch.randn(3, 64), torch.zeros(3)
    assert FiLMMLP(seed=1)(x, c).shape == (3, 64)
    assert TinyUNet(seed=1)(x, c).shape == (3, 64)
    with pytest.raises(ValueError, match="side"):
        TinyUNet(side=7)


def test_train_denoisers_learns_each_members_own_data():
    # two members, two data sets (constant images +0.5 and −0.5): at large σ each denoiser must
    # answer its own data mean
    d = 4
    data = [torch.full((16, d), 0.5), torch.full((16, d), -0.5)]
    models = [FiLMMLP(dim=d, width=32, depth=2, seed=k) for k in (1, 2)]
    ens, losses = df.train_denoisers(models, data, steps=150, batch_size=32, lr=1e-2, seed=3)
    assert losses.shape == (150, 2) and losses[-20:].mean() < losses[:20].mean()
    out = ens.denoise(torch.zeros(2, 8, d), 5.0)
    assert torch.allclose(out[0], torch.full((8, d), 0.5), atol=0.15)
    assert torch.allclose(out[1], torch.full((8, d), -0.5), atol=0.15)
    single = df.precondition(ens.member(1), torch.zeros(8, d), torch.tensor(5.0))
    assert torch.allclose(single, out[1], atol=1e-5)
    with pytest.raises(ValueError, match="equal length"):
        df.train_denoisers(models, data[:1], steps=1)


def test_same_noise_stats_and_nearest():
    a = torch.randn(10, 6, generator=torch.Generator().manual_seed(1))
    st = df.same_noise_stats(a, a)
    assert st["ratio"] == 0 and st["top_match"] == 1
    st = df.same_noise_stats(a, a.flip(0))
    assert st["top_match"] == 0
    assert torch.allclose(df.nearest_distance(a, a), torch.zeros(10, dtype=torch.float64))
    with pytest.raises(ValueError):
        df.same_noise_stats(a, a[:5])
