"""Gradient flow as the limit of gradient descent, and the modified flow that descent follows more closely.

Gradient descent θ_{k+1} = θ_k − η∇L(θ_k) is the forward Euler method for the gradient
flow dθ/dt = −∇L(θ) with time step η, so after a fixed time t = ηk it is O(η) away from
the flow. Backward error analysis (Barrett & Dherin 2021) finds the flow that descent
solves to one order higher: descent stays O(η²) close to

    dθ/dt = −∇L̃(θ),   L̃ = L + (η/4)·‖∇L‖²,

the *modified* loss with its implicit gradient-norm penalty. This module integrates
either flow with SciPy's ``solve_ivp`` (DOP853 at tight tolerances), so a chapter can
compare a trained network with the limit it approximates. Parameters travel as one
flat float64 vector, in the order of ``model.named_parameters()``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad

from lmlib._checks import check_real, check_tensor
from lmlib.train import LossFn, loss_function

__all__ = ["flatten", "unflatten", "FlowSolution", "modified_loss", "flow_gradient", "gradient_flow"]


def flatten(params: Mapping[str, torch.Tensor], *, members: bool = False) -> torch.Tensor:
    """Concatenate a params dict into one vector (in the dict's order).

    Args:
        params: name → tensor, e.g. ``dict(model.named_parameters())``.
        members: if True, every tensor has a leading member axis (stacked ensemble
            parameters, ``EnsembleHistory.params``) and the result is ``[N, P]``.
    """
    if not params:
        raise ValueError("params is empty")
    if members:
        return torch.cat([p.detach().flatten(1) for p in params.values()], 1)
    return torch.cat([p.detach().reshape(-1) for p in params.values()])


def unflatten(vector: torch.Tensor, like: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Split a flat vector back into a params dict with the names and shapes of ``like``.

    Raises:
        ValueError: if the vector's length is not the total size of ``like``.
    """
    vector = check_tensor("vector", vector, ndim=1)
    sizes = [p.numel() for p in like.values()]
    if vector.numel() != sum(sizes):
        raise ValueError(f"vector has {vector.numel()} entries, the parameters need {sum(sizes)}")
    return {k: v.reshape(p.shape) for (k, p), v in zip(like.items(), torch.split(vector, sizes))}


def _loss_of_vector(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str | LossFn,
                    like: Mapping[str, torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    loss_fn = loss_function(loss)
    return lambda vec: loss_fn(functional_call(model, unflatten(vec, like), (x,)), y)


def modified_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float, *,
                  loss: str | LossFn = "mse") -> Callable[[torch.Tensor], torch.Tensor]:
    """L̃(θ) = L(θ) + (η/4)·‖∇L(θ)‖² as a function of the flat parameter vector.

    Args:
        model: the network (its current parameters fix names, shapes and dtype only).
        x, y: the training data.
        lr: the learning rate η of the descent being modelled (0 gives L itself).
        loss: ``"mse"`` (½·mean‖y − f‖², as in :func:`lmlib.train.train`) or a callable.

    Returns:
        A function ``vector -> scalar tensor``, differentiable with ``torch.func.grad``.
    """
    lr = check_real("lr", lr, nonnegative=True)
    like = dict(model.named_parameters())
    base = _loss_of_vector(model, x, y, loss, like)
    if lr == 0:
        return base
    g = grad(base)
    return lambda vec: base(vec) + 0.25 * lr * g(vec).pow(2).sum()


def flow_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, lr: float = 0.0,
                  loss: str | LossFn = "mse") -> Callable[[torch.Tensor], torch.Tensor]:
    """∇L (``lr=0``) or ∇L̃ for the modified flow of step ``lr``, as a function of the flat vector."""
    return grad(modified_loss(model, x, y, lr, loss=loss))


@dataclass
class FlowSolution:
    """A gradient-flow trajectory evaluated at requested times.

    Attributes:
        t: the times, ``[T]``.
        theta: the flat parameters at those times, ``[T, P]`` (float64); ``[T, M, P]`` for M
            learning rates integrated together.
        loss: the training loss L (not L̃) at those times, ``[T]`` (or ``[T, M]``).
        n_evaluations: how many gradient evaluations the integrator made.
        like: names and shapes of the parameters (for :meth:`params`).
    """

    t: np.ndarray
    theta: np.ndarray
    loss: np.ndarray
    n_evaluations: int
    like: dict = field(repr=False, default_factory=dict)

    def params(self, i: int = -1, member: int | None = None) -> dict[str, torch.Tensor]:
        """The parameters at time index ``i`` (of learning rate ``member`` when batched) as a dict."""
        theta = self.theta[i] if member is None else self.theta[i, member]
        return unflatten(torch.from_numpy(np.ascontiguousarray(theta)), self.like)


def gradient_flow(model: nn.Module, x: torch.Tensor, y: torch.Tensor, times, *, lr=0.0,
                  loss: str | LossFn = "mse", method: str = "DOP853", rtol: float = 1e-12,
                  atol: float = 1e-12) -> FlowSolution:
    """Integrate gradient flow (or the modified flow of step ``lr``) from the model's parameters.

    The model is not changed. Everything runs in float64 on the model's device; the
    ODE solver itself is SciPy's and runs on the CPU. Several modified flows (one per
    learning rate) can be integrated together as one ODE system, their gradients vmapped:
    cheaper than one solve each, because the step count is set by the same dynamics.

    Args:
        model: the network; integration starts from its current parameters.
        x, y: the (full-batch) training data.
        times: increasing times ≥ 0 at which to report the state; the flow runs to ``times[-1]``.
        lr: 0 for the gradient flow dθ/dt = −∇L; η > 0 for the modified flow
            dθ/dt = −∇(L + η/4·‖∇L‖²) that descent with step η tracks to O(η²); or a
            sequence of such values, integrated together.
        loss: ``"mse"`` (½·mean‖y − f‖²) or a callable, as in :func:`lmlib.train.train`.
        method, rtol, atol: passed to ``scipy.integrate.solve_ivp``.

    Returns:
        A :class:`FlowSolution`; with a sequence of M learning rates ``theta`` is
        ``[T, M, P]`` and ``loss`` is ``[T, M]``.

    Raises:
        ValueError: if ``times`` is empty, negative or not increasing, a learning rate is
            negative, or the solver fails.
    """
    from scipy.integrate import solve_ivp

    times = np.asarray(times, dtype=np.float64).reshape(-1)
    if times.size == 0 or times[0] < 0 or np.any(np.diff(times) <= 0):
        raise ValueError(f"times must be non-empty, >= 0 and increasing, got {times}")
    batched = np.ndim(lr) == 1
    lrs = np.atleast_1d(np.asarray(lr, dtype=np.float64))
    if lrs.ndim != 1 or lrs.size == 0 or not np.all(np.isfinite(lrs)) or np.any(lrs < 0):
        raise ValueError(f"lr must be a number >= 0 or a non-empty sequence of them, got {lr!r}")
    rtol = check_real("rtol", rtol, positive=True)
    atol = check_real("atol", atol, positive=True)
    like = {k: p.detach().to(torch.float64) for k, p in model.named_parameters()}
    dev = next(iter(like.values())).device
    x = check_tensor("x", x).to(dev, torch.float64)
    y = check_tensor("y", y)
    y = y.to(dev, torch.float64) if y.is_floating_point() else y.to(dev)
    model64 = _float64_skeleton(model)
    base = _loss_of_vector(model64, x, y, loss, like)
    g = grad(base)
    # L̃(θ; η) with η an argument, so one vmapped gradient serves every learning rate.
    direction = torch.func.vmap(grad(lambda vec, eta: base(vec) + 0.25 * eta * g(vec).pow(2).sum()))
    eta = torch.as_tensor(lrs, dtype=torch.float64, device=dev)
    m, n_par = lrs.size, sum(p.numel() for p in like.values())
    count = 0

    def rhs(_t, theta):
        nonlocal count
        count += 1
        vec = torch.from_numpy(theta).to(dev).reshape(m, n_par)
        if not bool(eta.any()):  # plain gradient flow: skip the Hessian-vector product
            return -torch.func.vmap(g)(vec).cpu().numpy().reshape(-1)
        return -direction(vec, eta).cpu().numpy().reshape(-1)

    theta0 = np.tile(flatten(like).cpu().numpy(), m)
    sol = solve_ivp(rhs, (0.0, float(times[-1])), theta0, method=method, t_eval=times, rtol=rtol, atol=atol)
    if not sol.success:
        raise ValueError(f"solve_ivp failed: {sol.message}")
    theta = sol.y.T.reshape(len(times), m, n_par)
    with torch.no_grad():
        losses = np.array([[base(torch.from_numpy(th).to(dev)).item() for th in row] for row in theta])
    if not batched:
        theta, losses = theta[:, 0], losses[:, 0]
    return FlowSolution(t=times, theta=theta, loss=losses, n_evaluations=count, like=like)


def _float64_skeleton(model: nn.Module) -> nn.Module:
    # functional_call swaps in the float64 vectors; the module only has to compute in float64.
    return copy.deepcopy(model).to(torch.float64)
