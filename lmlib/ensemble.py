"""Train many copies of a model at once: one vmapped computation for the whole ensemble.

Seeds, learning rates and weight decays are the book's most common sweep axes,
and a small model trained one copy at a time spends most of its time in Python,
not arithmetic. Here the N members' parameters are stacked along a leading axis
(``torch.func.stack_module_state``), the forward pass is ``vmap``-ed over that
axis with ``functional_call``, and the optimizer update is written on the stacked
tensors, so one step costs a handful of batched kernels whatever N is.

Each member follows exactly the recipe of :func:`lmlib.train.train` (same loss
convention, same optimizer formulas as ``torch.optim``, same minibatch sampling),
so an ensemble run equals N separate ``train`` runs up to floating-point rounding.
"""
from __future__ import annotations

import copy
import gc
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from lmlib._checks import check_choice, check_int, check_tensor

from lmlib.train import (
    History, LossFn, TrainingDiverged, _check_batch_size, _check_record, _Records, _show_progress, loss_function,
)

__all__ = ["EnsembleHistory", "train_ensemble", "load_member"]

Observable = Callable[[dict], torch.Tensor]


@dataclass
class EnsembleHistory(_Records):
    """What an ensemble run recorded, with a member axis after the time axis.

    Attributes:
        steps: the step numbers of the records (state after t updates), shape ``[T]``.
        values: observable name → array of shape ``[T, N, ...]``; always has ``"loss"``
            (the full-data loss of each member, ``[T, N]``).
        diverged: per member, whether its loss became NaN/inf, shape ``[N]`` (bool).
        diverged_step: per member, the step at which that was detected, ``-1`` if never.
        params: the final trained parameters and buffers, stacked: name → ``Tensor[N, ...]``.
        lr, weight_decay, momentum: the per-member hyperparameters, shape ``[N]``.

    ``history["loss"]`` is short for ``history.values["loss"]``.
    """

    steps: np.ndarray
    values: dict[str, np.ndarray]
    diverged: np.ndarray
    diverged_step: np.ndarray
    params: dict[str, torch.Tensor] = field(repr=False)
    lr: np.ndarray = field(default_factory=lambda: np.empty(0))
    weight_decay: np.ndarray = field(default_factory=lambda: np.empty(0))
    momentum: np.ndarray = field(default_factory=lambda: np.empty(0))

    def __repr__(self) -> str:  # the arrays would flood a notebook cell
        return (f"EnsembleHistory(members={self.n_members}, records={len(self.steps)}, "
                f"observables={sorted(self.values)}, diverged={int(self.diverged.sum())})")

    @property
    def n_members(self) -> int:
        """The number of members N."""
        return len(self.diverged)

    def member(self, i: int) -> History:
        """Member ``i``'s records as a single-run :class:`lmlib.train.History`.

        Like :func:`lmlib.train.train` with ``allow_divergence=True``, a diverged
        member's history ends at its first NaN/inf loss record.

        Raises:
            IndexError: if ``i`` is not a member index.
        """
        i = _member_index(i, self.n_members)
        bad = ~np.isfinite(self.values["loss"][:, i])
        end = int(np.argmax(bad)) + 1 if bad.any() else len(self.steps)
        return History(steps=self.steps[:end].copy(),
                       values={k: v[:end, i].copy() for k, v in self.values.items()},
                       diverged=bool(self.diverged[i]))

    def load_member(self, model: nn.Module, i: int) -> nn.Module:
        """Copy member ``i``'s final parameters into ``model``; see :func:`load_member`."""
        return load_member(model, self.params, i)


def _member_index(i: int, n: int) -> int:
    i = check_int("i", i)
    if not -n <= i < n:
        raise IndexError(f"member index {i} out of range for an ensemble of {n}")
    return i % n


@torch.no_grad()
def load_member(model: nn.Module, params: Mapping[str, torch.Tensor], i: int) -> nn.Module:
    """Copy member ``i`` of stacked ``params`` into ``model`` in place, and return it.

    Args:
        model: a module of the ensemble's architecture (e.g. a fresh ``make(0)``).
        params: stacked parameters and buffers, name → ``Tensor[N, ...]``
            (``EnsembleHistory.params``).
        i: the member index.

    Returns:
        ``model``, now holding member ``i``'s weights (on the model's device and dtype).

    Raises:
        ValueError: if the names or shapes do not match the model.
        IndexError: if ``i`` is out of range.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    state = dict(model.named_parameters()) | dict(model.named_buffers())
    if set(params) != set(state):
        raise ValueError(f"params do not match the model: missing {sorted(set(state) - set(params))}, "
                         f"unexpected {sorted(set(params) - set(state))}")
    i = _member_index(i, len(next(iter(params.values()))))
    for name, t in state.items():
        if params[name].shape[1:] != t.shape:
            raise ValueError(f"params[{name!r}] has member shape {tuple(params[name].shape[1:])}, "
                             f"model has {tuple(t.shape)}")
        t.copy_(params[name][i])
    return model


def _per_member(name: str, value, n: int | None, *, positive: bool) -> np.ndarray:
    """A hyperparameter given as one number or one per member → float64 array (length n or 1)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, (bool, np.bool_)) or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a number or a sequence of numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or a sequence of numbers, got {value!r}") from None
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a number or a 1-D sequence (one per member), got shape {arr.shape}")
    arr = arr.reshape(-1)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if n is not None and arr.size not in (1, n):
        raise ValueError(f"{name} has {arr.size} values but the ensemble has {n} members")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {arr.tolist()}")
    if positive and (arr <= 0).any():
        raise ValueError(f"{name} must be > 0, got {arr.tolist()}")
    if not positive and (arr < 0).any():
        raise ValueError(f"{name} must be >= 0, got {arr.tolist()}")
    return arr


def _build_members(models, n_members: int | None, lr_size: int) -> list[nn.Module]:
    if isinstance(models, nn.Module):
        # One model, N identical copies: a hyperparameter sweep at a fixed initialisation.
        n = n_members if n_members is not None else lr_size
        return [models] * n
    if callable(models):
        if n_members is None:
            if lr_size == 1:
                raise ValueError("n_members is required with a factory models=make(i) "
                                 "(or give one lr per member)")
            n_members = lr_size
        members = [models(i) for i in range(n_members)]
        for i, m in enumerate(members):
            if not isinstance(m, nn.Module):
                raise TypeError(f"models({i}) must return an nn.Module, got {type(m).__name__}")
        return members
    if isinstance(models, (str, bytes)) or not isinstance(models, Sequence):
        raise TypeError(f"models must be a sequence of nn.Module, a factory make(i) or one nn.Module, "
                        f"got {type(models).__name__}")
    for i, m in enumerate(models):
        if not isinstance(m, nn.Module):
            raise TypeError(f"models[{i}] must be an nn.Module, got {type(m).__name__}")
    if n_members is not None and n_members != len(models):
        raise ValueError(f"n_members={n_members} but {len(models)} models were given")
    return list(models)


def _check_same_architecture(members: list[nn.Module]) -> None:
    def signature(m: nn.Module):
        return (type(m), [(k, tuple(t.shape), t.dtype, t.device, t.requires_grad)
                          for k, t in list(m.named_parameters()) + list(m.named_buffers())])

    ref = signature(members[0])
    for i, m in enumerate(members[1:], start=1):
        if signature(m) != ref:
            raise ValueError(f"models must share one architecture: member {i} differs from member 0 "
                             f"(parameter names, shapes, dtypes, devices or class)")


def _sgd_step(p, g, state, lr, wd, mu):
    # torch.optim.SGD (dampening 0, no Nesterov): g += wd·p; buf = μ·buf + g; p -= lr·buf.
    # Starting buf at 0 gives buf = g on the first step, as torch's clone does.
    if wd is not None:
        g = g + wd * p
    if mu is not None:
        buf = state.setdefault("buf", torch.zeros_like(p))
        g = buf.mul_(mu).add_(g)
    p.sub_(lr * g)


def _adam_step(p, g, state, lr, wd, step, decoupled, betas=(0.9, 0.999), eps=1e-8):
    # torch.optim.Adam / AdamW, written as torch writes them (AdamW decays by the group's lr·wd).
    b1, b2 = betas
    if wd is not None:
        if decoupled:
            p.mul_(1 - lr * wd)
        else:
            g = g + wd * p
    m = state.setdefault("m", torch.zeros_like(p))
    v = state.setdefault("v", torch.zeros_like(p))
    m.lerp_(g, 1 - b1)
    v.mul_(b2).addcmul_(g, g, value=1 - b2)
    denom = (v.sqrt() / math.sqrt(1 - b2 ** step)).add_(eps)
    p.sub_((lr / (1 - b1 ** step)) * m / denom)


def train_ensemble(
    models: Sequence[nn.Module] | Callable[[int], nn.Module] | nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    lr: float | Sequence[float] | torch.Tensor,
    steps: int,
    n_members: int | None = None,
    loss: str | LossFn = "mse",
    optimizer: str = "sgd",
    batch_size: int | None = None,
    weight_decay: float | Sequence[float] | torch.Tensor = 0.0,
    momentum: float | Sequence[float] | torch.Tensor = 0.0,
    betas: tuple[float, float] = (0.9, 0.999),
    lr_schedule: Callable[[int], float | Sequence[float] | torch.Tensor] | None = None,
    param_lr: Mapping[str, float | Sequence[float]] | None = None,
    record: Mapping[str, Observable] | None = None,
    record_every: int = 1,
    seed: int = 0,
    same_batches: bool = True,
    member_data: bool = False,
    progress: bool | None = None,
    allow_divergence: bool = False,
) -> EnsembleHistory:
    """Train N independent copies of a model in one vmapped computation.

    Every member is trained exactly as :func:`lmlib.train.train` would train it
    alone (same loss, same ``torch.optim`` formulas, same minibatches for the same
    seed), but all at once. The given models are not modified: the trained weights
    come back stacked in ``history.params``; :func:`load_member` puts one into a module.

    Example:
        >>> make = lambda i: MLP((64, 16, 10), "tanh", seed=i)
        >>> hist = train_ensemble(make, x, y, n_members=8, lr=0.1, steps=100)
        >>> hist["loss"].shape                     # [records, members]
        (101, 8)
        >>> sweep = train_ensemble(MLP((64, 16, 10)), x, y, lr=[0.01, 0.1, 1.0, 10.0],
        ...                        steps=100, allow_divergence=True)
        >>> sweep.diverged                         # the largest lr blew up; the rest trained on
        array([False, False, False,  True])

    Args:
        models: the members: a list of modules of one architecture (e.g. different
            seeds), a factory ``make(i) -> nn.Module`` called for ``i < n_members``, or
            one module copied N times (a sweep from a shared initialisation).
        x, y: training data ``[n, ...]``, shared by all members (moved to the models' device).
        lr: learning rate, one for all or one per member (a sequence, array or tensor).
        steps: number of updates.
        n_members: N; needed with a factory or a single module unless ``lr`` has one
            value per member.
        loss: ``"mse"`` (½·mean‖y − f‖²), ``"cross_entropy"``, or a callable
            ``(output, y) -> scalar`` written for one member (it runs under ``vmap``).
        optimizer: ``"sgd"``, ``"adam"`` or ``"adamw"`` (torch's formulas; eps 1e-8).
        batch_size: minibatch size (sampled without replacement each step, as in
            ``train``); ``None`` is full batch.
        weight_decay, momentum: one for all or one per member; momentum is for SGD.
        betas: Adam's (β₁, β₂), shared by all members.
        lr_schedule: ``lr_schedule(t)`` multiplies the learning rate of update ``t`` (0, 1, …,
            steps − 1): one number for all members or one per member (``[N]``), e.g. each
            member's own cosine decay over its own horizon. As with
            ``torch.optim.lr_scheduler.LambdaLR``, weight decay scales with the scheduled rate
            under SGD and AdamW.
        param_lr: per-parameter learning-rate multipliers, parameter name (as in
            ``model.named_parameters()``) → a number or one per member; parameters not named
            get 1. This is how per-layer rates (μP's, for instance) enter; it is what
            ``torch.optim`` parameter groups with different ``lr`` do.
        record: extra observables, name → ``fn(state) -> Tensor`` where ``state`` is one
            member's dict of parameters and buffers (``name → Tensor``, as in
            ``model.named_parameters()``). It runs under ``vmap``, so it must be a pure
            tensor function: no ``.item()``, no NumPy. For outputs use
            ``torch.func.functional_call(model, state, (x,))`` with any module of the
            architecture. Each is recorded with shape ``[T, N, ...]``.
        record_every: record every this many steps (and always at step 0 and the last step).
        seed: seed for minibatch sampling.
        same_batches: all members see the same minibatch each step (the one
            ``train(seed=seed)`` would draw); if False member i draws its own, the ones
            ``train(seed=seed + i)`` would draw.
        member_data: ``x`` and ``y`` carry a leading member axis, ``[N, n, ...]``:
            member i trains on ``(x[i], y[i])``.
        progress: show a tqdm bar (default: only in a terminal or on Colab).
        allow_divergence: instead of raising when a member's loss becomes NaN/inf,
            freeze that member (its loss stays NaN/inf in the records), train the
            others on, and report it in ``history.diverged``. Learning-rate sweeps want this.

    Returns:
        An :class:`EnsembleHistory`: ``history["loss"]`` is ``[T, N]``,
        ``history.member(i)`` is member i's :class:`lmlib.train.History`,
        ``history.params`` the stacked trained weights.

    Note:
        Buffers are held fixed: a BatchNorm layer in training mode normalises with
        each batch's statistics as usual, but its running averages are not updated.
        Dropout draws a different mask for every member (``vmap(randomness="different")``),
        so runs with dropout are not step-for-step equal to :func:`lmlib.train.train`.

    Raises:
        TrainingDiverged: when a member's loss becomes NaN or infinite (unless
            allowed); the message names the members, their lr, and a smaller lr to try.
        ValueError, TypeError: on bad arguments (mismatched architectures, a
            hyperparameter vector of the wrong length, unknown optimizer, ...).
    """
    from tqdm.auto import tqdm  # imported here: tqdm.auto probes for Jupyter on import

    # ---- arguments -----------------------------------------------------------------
    if n_members is not None:
        n_members = check_int("n_members", n_members, minimum=1)
    lr_arr = _per_member("lr", lr, n_members, positive=True)
    members = _build_members(models, n_members, lr_arr.size)
    n = len(members)
    if n == 0:
        raise ValueError("models is empty: an ensemble needs at least one member")
    _check_same_architecture(members)
    lr_arr, wd_arr, mu_arr = (np.broadcast_to(_per_member(name, v, n, positive=name == "lr"), (n,)).copy()
                              for name, v in (("lr", lr), ("weight_decay", weight_decay), ("momentum", momentum)))
    if not isinstance(optimizer, str):  # a torch.optim factory cannot act on stacked tensors
        raise TypeError(f"optimizer must be 'sgd', 'adam' or 'adamw', got {type(optimizer).__name__}")
    check_choice("optimizer", optimizer, ["sgd", "adam", "adamw"])
    if optimizer != "sgd" and mu_arr.any():
        raise ValueError("momentum applies to optimizer='sgd'; for Adam set betas=(β1, β2)")
    if (not isinstance(betas, (tuple, list)) or len(betas) != 2
            or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas)):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
    if lr_schedule is not None and not callable(lr_schedule):
        raise TypeError(f"lr_schedule must be a callable step -> factor, got {type(lr_schedule).__name__}")
    steps = check_int("steps", steps, minimum=0)
    record_every = check_int("record_every", record_every, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    x, y = check_tensor("x", x), check_tensor("y", y)
    data_dim = 1 if member_data else 0  # where the example axis is
    x_dim = 0 if member_data else None  # vmap's in_dims for the data
    if member_data and (x.ndim < 2 or y.ndim < 2 or x.shape[0] != n or y.shape[0] != n):
        raise ValueError(f"with member_data=True, x and y need a leading member axis of size {n}; "
                         f"got x {tuple(x.shape)} and y {tuple(y.shape)}")
    if x.ndim <= data_dim or y.ndim <= data_dim or x.shape[data_dim] != y.shape[data_dim]:
        raise ValueError(f"x and y must have the same number of examples; "
                         f"got x {tuple(x.shape)} and y {tuple(y.shape)}")
    n_data = x.shape[data_dim]
    batch_size = _check_batch_size(batch_size, n_data)
    record = _check_record(record, takes="a params dict")
    loss_fn = loss_function(loss)

    # ---- stacked state ---------------------------------------------------------------
    trainable = [k for k, p in members[0].named_parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("models have no trainable parameters")
    stacked, buffers = stack_module_state(members)
    stacked = {k: v.detach().clone() for k, v in stacked.items()}  # never alias the user's models
    params = {k: stacked[k] for k in trainable}
    # Frozen parameters ride along with the buffers: used in the forward, never updated.
    fixed = {k: v for k, v in stacked.items() if k not in params} | {k: v.clone() for k, v in buffers.items()}
    dev = params[trainable[0]].device
    x, y = x.to(dev), y.to(dev)
    # A skeleton on the meta device: functional_call swaps in each member's tensors.
    base = copy.deepcopy(members[0]).to("meta")
    base.train()

    def member_loss(p, f, xb, yb):
        return loss_fn(functional_call(base, (p, f), (xb,)), yb)

    def per_member_hparam(arr: np.ndarray, p: torch.Tensor):
        # A [N, 1, 1, ...] view broadcasts against the stacked [N, ...] parameter; None skips the term.
        if not arr.any():
            return None
        return torch.as_tensor(arr, dtype=p.dtype, device=dev).view(n, *([1] * (p.ndim - 1)))

    param_lr = dict(param_lr or {})
    unknown = sorted(set(param_lr) - set(params))
    if unknown:
        raise ValueError(f"param_lr names unknown parameters {unknown}; trainable ones are {sorted(params)}")
    lr_of = {k: lr_arr * _per_member(f"param_lr[{k!r}]", param_lr.get(k, 1.0), n, positive=True)
             for k in params}
    hp = {k: (per_member_hparam(lr_of[k], p), per_member_hparam(wd_arr, p), per_member_hparam(mu_arr, p))
          for k, p in params.items()}

    def schedule(step: int) -> torch.Tensor | None:
        # The factor of update `step` as an [N] tensor (None: no schedule).
        if lr_schedule is None:
            return None
        f = lr_schedule(step)
        f = torch.as_tensor(f.detach().cpu().numpy() if isinstance(f, torch.Tensor) else f, dtype=torch.float64)
        if f.ndim > 1 or f.numel() not in (1, n) or not bool(torch.isfinite(f).all()) or bool((f < 0).any()):
            raise ValueError(f"lr_schedule({step}) must give one factor >= 0 or one per member ({n}), "
                             f"got {f.tolist()}")
        return f.reshape(-1).expand(n).to(dev)
    opt_state: dict[str, dict] = {k: {} for k in params}

    # Gradients of the summed member losses are each member's own gradient (members
    # share no parameters), so one vmapped forward and one ordinary backward serve
    # all members; this beat vmap(grad(...)) in benchmarks/bench_ensemble.py.
    names = list(params)

    def losses_and_grads(xb, yb, xb_dim):
        leaves = {k: params[k].requires_grad_(True) for k in names}
        with torch.enable_grad():  # also when called from a user's no_grad block
            # randomness="different": dropout draws its own mask for every member, as separate runs would.
            losses = vmap(member_loss, in_dims=(0, 0, xb_dim, xb_dim), randomness="different")(leaves, fixed, xb, yb)
            grads = torch.autograd.grad(losses.sum(), [leaves[k] for k in names])
        for k in names:
            params[k].requires_grad_(False)
        return losses.detach(), grads

    def full_losses():
        with torch.no_grad():
            return vmap(member_loss, in_dims=(0, 0, x_dim, x_dim), randomness="different")(params, fixed, x, y)

    alive = torch.ones(n, dtype=torch.bool, device=dev)
    diverged_step = torch.full((n,), -1, dtype=torch.long, device=dev)

    def mark(step: int, losses: torch.Tensor) -> None:
        nonlocal alive
        ok = torch.isfinite(losses)
        diverged_step.masked_fill_(alive & ~ok, step)
        alive = alive & ok

    def check_divergence() -> None:
        if allow_divergence or bool(alive.all()):
            return
        bad = (~alive).nonzero().flatten().tolist()
        first = int(diverged_step[bad].min())
        lrs = ", ".join(f"{lr_arr[i]:g}" for i in bad)
        raise TrainingDiverged(
            f"member(s) {bad} (lr={lrs}) diverged: the loss became NaN/inf by step {first}. "
            f"Try smaller learning rates (e.g. lr <= {lr_arr[bad].min() / 4:g}), or pass "
            f"allow_divergence=True to freeze diverged members and train the rest "
            f"(what a learning-rate sweep wants).")

    rec_steps: list[int] = []
    rec_vals: dict[str, list[torch.Tensor]] = {"loss": [], **{k: [] for k in record}}

    def take_record(step: int, losses: torch.Tensor) -> None:
        # Records stay on the device until the end: no host sync per record on a GPU.
        rec_steps.append(step)
        rec_vals["loss"].append(losses.detach().clone())
        state = params | fixed
        with torch.no_grad():
            for name, fn in record.items():
                try:
                    rec_vals[name].append(vmap(fn)(state).detach().clone())
                except Exception as err:
                    raise RuntimeError(f"record[{name!r}] failed under vmap: observables must be pure tensor "
                                    f"functions of one member's params dict (no .item(), no NumPy): {err}"
                                    ) from err

    # The same torch.randperm draws as lmlib.train.train, so equal seeds give equal batches.
    gens = [torch.Generator().manual_seed(seed + i) for i in range(1 if same_batches else n)]
    rows = torch.arange(n, device=dev)[:, None]

    def minibatch():
        idx = torch.stack([torch.randperm(n_data, generator=g)[:batch_size] for g in gens]).to(dev)
        if same_batches:  # one index vector: gather once, broadcast to every member
            return (x[:, idx[0]], y[:, idx[0]], 0) if member_data else (x[idx[0]], y[idx[0]], None)
        return (x[rows, idx], y[rows, idx], 0) if member_data else (x[idx], y[idx], 0)

    bar = tqdm(total=steps, disable=not _show_progress(progress), leave=False, mininterval=0.5)
    for step in range(steps + 1):
        is_record = step % record_every == 0 or step == steps
        if batch_size is None and step < steps:
            # Full batch: the loss driving this update is the state's loss, so record it free.
            losses, grads = losses_and_grads(x, y, x_dim)
            if is_record:
                take_record(step, losses)
        else:
            if is_record:
                losses = full_losses()
                take_record(step, losses)
                mark(step, losses)
            if step == steps:
                break
            losses, grads = losses_and_grads(*minibatch())
        mark(step, losses)
        if step % 50 == 0:  # a host sync: rare enough not to stall a GPU
            check_divergence()
        factor = schedule(step)
        with torch.no_grad():
            for k, g in zip(names, grads):
                p = params[k]
                old = p.clone() if allow_divergence else None
                lr_k, wd_k, mu_k = hp[k]
                if factor is not None:
                    lr_k = lr_k * factor.to(p.dtype).view(n, *([1] * (p.ndim - 1)))
                if optimizer == "sgd":
                    _sgd_step(p, g, opt_state[k], lr_k, wd_k, mu_k)
                else:
                    _adam_step(p, g, opt_state[k], lr_k, wd_k, step + 1, optimizer == "adamw", tuple(betas))
                if allow_divergence:  # diverged members stay frozen where they blew up
                    p.copy_(torch.where(alive.view(n, *([1] * (p.ndim - 1))), p, old))
        if step % 100 == 99:
            # Each vmapped step leaves reference cycles holding that step's activations; Python's
            # generational collector reaches them too rarely, and over thousands of steps the
            # process grew by gigabytes (a 3000-step run of 18 small nets: 9.4 GB). Collecting
            # every 100 steps bounds it at a cost of milliseconds.
            gc.collect()
        bar.update(1)
    bar.close()
    check_divergence()

    def to_numpy(ts: list[torch.Tensor]) -> np.ndarray:
        return torch.stack(ts).to("cpu", torch.float64).numpy()

    return EnsembleHistory(
        steps=np.asarray(rec_steps, dtype=np.int64),
        values={k: to_numpy(v) for k, v in rec_vals.items()},
        diverged=(~alive).cpu().numpy(),
        diverged_step=diverged_step.cpu().numpy(),
        params=params | fixed,
        lr=lr_arr, weight_decay=wd_arr, momentum=mu_arr,
    )
