"""Diffusion models the EDM way (Karras et al. 2022): preconditioning, loss, σ schedule, Heun sampler.

A denoiser ``D(x; σ)`` estimates the clean image from ``x = y + σ n``. EDM does not ask the network
``F`` for ``D`` directly: it writes

    D(x; σ) = c_skip(σ) x + c_out(σ) F(c_in(σ) x, c_noise(σ)),

with coefficients chosen so that the network's input and its training target both have unit
variance at every σ (:func:`edm_coefficients`). Sampling integrates the probability-flow ODE
``dx/dσ = (x − D(x; σ))/σ`` from ``σ_max`` down to 0 with Heun's second-order method on the
schedule of :func:`karras_sigmas`; it is deterministic, so a sample is a function of its starting
noise — which is what lets us compare two networks "on the same noise".

:func:`train_denoisers` trains several denoisers of one architecture in a single vmapped loop,
each on its own data set (fresh noise every step, Adam with a one-cycle learning rate).
"""
from __future__ import annotations

import copy
import math
from typing import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from lmlib._checks import check_int, check_real

__all__ = ["edm_coefficients", "precondition", "edm_loss_weight", "karras_sigmas", "heun_sample",
           "DenoiserEnsemble", "train_denoisers", "same_noise_stats", "nearest_distance",
           "gaussian_flow_scale"]


def edm_coefficients(sigma: torch.Tensor, sigma_data: float = 0.5):
    """EDM's preconditioning ``(c_skip, c_out, c_in, c_noise)`` at noise level(s) ``sigma``.

    ``c_skip = σ_d²/(σ²+σ_d²)``, ``c_out = σ σ_d/√(σ²+σ_d²)``, ``c_in = 1/√(σ²+σ_d²)``,
    ``c_noise = ln(σ)/4``.

    Raises:
        ValueError: if ``sigma_data`` is not positive or any σ is not positive.
    """
    sd = check_real("sigma_data", sigma_data, positive=True)
    sigma = torch.as_tensor(sigma)
    if (sigma <= 0).any():
        raise ValueError("sigma must be > 0 everywhere")
    return _coefficients(sigma, sd)


def _coefficients(sigma: torch.Tensor, sd: float):
    # unchecked twin of edm_coefficients: a data-dependent check cannot run under vmap
    norm = (sigma ** 2 + sd ** 2).sqrt()
    return sd ** 2 / norm ** 2, sigma * sd / norm, 1.0 / norm, sigma.log() / 4


def edm_loss_weight(sigma: torch.Tensor, sigma_data: float = 0.5) -> torch.Tensor:
    """EDM's loss weight ``λ(σ) = (σ²+σ_d²)/(σ σ_d)²`` = ``1/c_out²``: it makes the effective target unit-variance."""
    sigma = torch.as_tensor(sigma)
    return (sigma ** 2 + sigma_data ** 2) / (sigma * sigma_data) ** 2


def precondition(net: Callable, x: torch.Tensor, sigma: torch.Tensor, sigma_data: float = 0.5) -> torch.Tensor:
    """The denoiser ``D(x; σ) = c_skip x + c_out F(c_in x, c_noise)`` built from a raw network ``net(x, c_noise)``.

    Args:
        net: callable ``(x [B, d], c_noise [B]) → [B, d]``.
        x: noisy inputs ``[B, d]``.
        sigma: noise level per row ``[B]`` (or a scalar, broadcast).
    """
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(x.shape[0])
    c_skip, c_out, c_in, c_noise = _coefficients(sigma, sigma_data)
    return c_skip[:, None] * x + c_out[:, None] * net(c_in[:, None] * x, c_noise)


def karras_sigmas(n_steps: int = 18, sigma_min: float = 0.002, sigma_max: float = 80.0,
                  rho: float = 7.0) -> torch.Tensor:
    """EDM's σ schedule: ``n_steps`` levels evenly spaced in ``σ^(1/ρ)`` from σ_max to σ_min, then a final 0.

    Returns a float64 tensor of length ``n_steps + 1``.

    Raises:
        ValueError: if ``n_steps < 2`` or not ``0 < sigma_min < sigma_max``.
    """
    n = check_int("n_steps", n_steps, minimum=2)
    lo, hi = check_real("sigma_min", sigma_min, positive=True), check_real("sigma_max", sigma_max, positive=True)
    if lo >= hi:
        raise ValueError(f"sigma_min must be < sigma_max, got {lo} and {hi}")
    r = check_real("rho", rho, positive=True)
    i = torch.arange(n, dtype=torch.float64)
    s = (hi ** (1 / r) + i / (n - 1) * (lo ** (1 / r) - hi ** (1 / r))) ** r
    return torch.cat([s, torch.zeros(1, dtype=torch.float64)])


def heun_sample(denoiser: Callable, noise: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """Integrate the probability-flow ODE ``dx/dσ = (x − D(x; σ))/σ`` with Heun's method (EDM Algorithm 1).

    Args:
        denoiser: ``D(x, sigma)`` with ``sigma`` a Python float; any leading shape of ``x`` is allowed.
        noise: unit-variance starting noise; it is scaled by ``sigmas[0]``.
        sigmas: decreasing noise levels ending in 0 (see :func:`karras_sigmas`).

    Returns:
        The samples, same shape as ``noise``. Deterministic in ``noise``.
    """
    sig = [float(s) for s in sigmas]
    if len(sig) < 2 or any(a <= b for a, b in zip(sig, sig[1:])) or sig[-1] != 0:
        raise ValueError("sigmas must be strictly decreasing and end in 0")
    x = noise * sig[0]
    with torch.no_grad():
        for s, s_next in zip(sig[:-1], sig[1:]):
            d = (x - denoiser(x, s)) / s
            x_next = x + (s_next - s) * d
            if s_next > 0:  # second-order correction, except on the last step to σ = 0
                d_next = (x_next - denoiser(x_next, s_next)) / s_next
                x_next = x + (s_next - s) * 0.5 * (d + d_next)
            x = x_next
    return x


class DenoiserEnsemble:
    """Several trained denoisers of one architecture, evaluated together under ``vmap``.

    ``denoise(x, sigma)`` takes ``x`` of shape ``[members, B, d]`` and returns each member's
    ``D(x; σ)``; pass it to :func:`heun_sample`. ``member(i)`` gives a plain module.
    """

    def __init__(self, base: nn.Module, params: dict, buffers: dict, sigma_data: float):
        self.base, self.params, self.buffers, self.sigma_data = base, params, buffers, sigma_data
        self.n_members = next(iter(params.values())).shape[0]

    def _one(self, p, b, x, sigma):
        net = lambda xx, cn: functional_call(self.base, (p, b), (xx, cn))  # noqa: E731
        return precondition(net, x, sigma, self.sigma_data)

    def denoise(self, x: torch.Tensor, sigma) -> torch.Tensor:
        """Each member's ``D(x[m]; σ)``; ``sigma`` a float or a tensor ``[members, B]``."""
        if x.ndim != 3 or x.shape[0] != self.n_members:
            raise ValueError(f"x must have shape [{self.n_members}, B, d], got {tuple(x.shape)}")
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(x.shape[:2])
        return vmap(self._one)(self.params, self.buffers, x, sigma)

    def member(self, i: int) -> nn.Module:
        """Member ``i`` as a standalone module (the raw network ``F``; wrap with :func:`precondition`)."""
        dev = next(iter(self.params.values())).device
        m = copy.deepcopy(self.base).to_empty(device=dev)
        m.load_state_dict({**{k: v[i] for k, v in self.params.items()}, **{k: v[i] for k, v in self.buffers.items()}})
        return m


def train_denoisers(models: Sequence[nn.Module], data: Sequence[torch.Tensor], *, steps: int, lr: float = 5e-3,
                    batch_size: int = 256, sigma_data: float = 0.5, p_mean: float = -1.2, p_std: float = 1.2,
                    seed: int = 0) -> tuple[DenoiserEnsemble, torch.Tensor]:
    """Train denoisers of one architecture, member ``m`` on ``data[m]``, in one vmapped loop (EDM loss).

    Every step each member draws ``batch_size`` images from its own set (with replacement), fresh
    noise levels ``ln σ ~ N(p_mean, p_std²)`` and fresh Gaussian noise, and takes an Adam step
    on ``λ(σ)‖D(y + σn; σ) − y‖²`` with a one-cycle learning rate peaking at ``lr``.

    Args:
        models: modules of identical architecture (their initial weights are kept).
        data: one ``[n_m, d]`` tensor per model; sizes may differ.
        steps: optimisation steps.
        seed: seed of the minibatches and the noise.

    Returns:
        The trained :class:`DenoiserEnsemble` and the per-step mean loss of each member ``[steps, members]``.

    Raises:
        ValueError: if ``models`` and ``data`` differ in length or a data set is empty.
    """
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    check_real("lr", lr, positive=True)
    if len(models) == 0 or len(models) != len(data):
        raise ValueError(f"models and data must be non-empty and of equal length, got {len(models)} and {len(data)}")
    if any(d.ndim != 2 or d.shape[0] == 0 for d in data):
        raise ValueError("each data set must be a non-empty [n, d] tensor")
    dev, m = data[0].device, len(models)
    sizes = torch.tensor([d.shape[0] for d in data], device=dev)
    padded = torch.zeros(m, int(sizes.max()), data[0].shape[1], device=dev, dtype=data[0].dtype)
    for i, d in enumerate(data):  # pad to one tensor; indices are drawn below each member's own size
        padded[i, : d.shape[0]] = d
    params, buffers = stack_module_state([mod.to(dev) for mod in models])
    params = {k: v.detach().requires_grad_() for k, v in params.items()}
    base = copy.deepcopy(models[0]).to("meta")
    opt = torch.optim.Adam(params.values(), lr=lr)  # elementwise, so stacked members stay independent
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    gen = torch.Generator(device=dev).manual_seed(check_int("seed", seed, minimum=0))
    ens = DenoiserEnsemble(base, params, buffers, sigma_data)
    rows = torch.arange(m, device=dev)[:, None]

    def member_loss(p, b, y, sigma, n):
        net = lambda xx, cn: functional_call(base, (p, b), (xx, cn))  # noqa: E731
        den = precondition(net, y + sigma[:, None] * n, sigma, sigma_data)
        return (edm_loss_weight(sigma, sigma_data)[:, None] * (den - y) ** 2).mean()

    losses = torch.empty(steps, m)
    for step in range(steps):
        idx = (torch.rand(m, batch_size, generator=gen, device=dev) * sizes[:, None]).long()
        y = padded[rows, idx]
        sigma = (p_mean + p_std * torch.randn(m, batch_size, generator=gen, device=dev)).exp()
        n = torch.randn(y.shape, generator=gen, device=dev)
        loss = vmap(member_loss)(params, buffers, y, sigma, n)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
        sched.step()
        losses[step] = loss.detach().cpu()
    for v in params.values():
        v.requires_grad_(False)
    return ens, losses


def same_noise_stats(a: torch.Tensor, b: torch.Tensor) -> dict:
    """Compare two sample sets drawn from the same noises row by row (``a[i]`` and ``b[i]`` share noise i).

    Returns a dict with ``same`` (mean RMS-per-pixel distance between same-noise pairs), ``different``
    (mean over pairs i ≠ j), ``ratio`` = same/different, and ``top_match``: the fraction of rows
    whose nearest sample of the other set is its own same-noise partner.
    """
    if a.shape != b.shape or a.ndim != 2 or a.shape[0] < 2:
        raise ValueError(f"a and b must be equal-shaped [n >= 2, d] tensors, got {tuple(a.shape)}, {tuple(b.shape)}")
    dist = torch.cdist(a.double(), b.double()) / math.sqrt(a.shape[1])
    n = a.shape[0]
    same = dist.diagonal().mean()
    different = (dist.sum() - dist.diagonal().sum()) / (n * (n - 1))
    top = (dist.argmin(dim=1) == torch.arange(n, device=dist.device)).double().mean()
    return {"same": float(same), "different": float(different), "ratio": float(same / different),
            "top_match": float(top)}


def nearest_distance(samples: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """RMS-per-pixel distance from each sample ``[n, d]`` to its nearest row of ``reference`` ``[m, d]``."""
    if samples.ndim != 2 or reference.ndim != 2 or samples.shape[1] != reference.shape[1]:
        raise ValueError("samples and reference must be [n, d] and [m, d] with the same d")
    return torch.cdist(samples.double(), reference.double()).min(dim=1).values / math.sqrt(samples.shape[1])


def gaussian_flow_scale(data_std: float, sigma_from: float, sigma_to: float) -> float:
    """Exact probability-flow map for Gaussian data ``N(μ, s²I)``: ``x − μ`` is multiplied by
    ``√(s² + σ_to²)/√(s² + σ_from²)`` going from noise level σ_from to σ_to.

    The optimal denoiser is ``μ + s²/(s²+σ²)(x − μ)``, so ``dx/dσ = (x − μ) σ/(s²+σ²)``, solved by
    ``x − μ ∝ √(s²+σ²)``.
    """
    s = check_real("data_std", data_std, positive=True)
    a = check_real("sigma_from", sigma_from, nonnegative=True)
    b = check_real("sigma_to", sigma_to, nonnegative=True)
    return math.sqrt(s ** 2 + b ** 2) / math.sqrt(s ** 2 + a ** 2)
