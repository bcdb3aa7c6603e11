"""Training loops that record what theory predicts.

:func:`train` runs plain full-batch or minibatch training of one model and
records chosen observables (always the loss) into a :class:`History`.
:func:`lmlib.ensemble.train_ensemble` trains many copies at once in one vmapped computation.

Loss convention: ``"mse"`` is ½·mean over examples of ‖y − f(x)‖² (summed over
output dimensions), the convention of the deep-linear and kernel chapters; with
it the gradient-flow ODE of a mode is du/dτ = 2u(s − u) on whitened inputs.
"""
from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import torch
from torch import nn

from lmlib._checks import check_choice, check_int, check_real, check_tensor

__all__ = ["History", "TrainingDiverged", "train", "loss_function"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Observable = Callable[[nn.Module], "float | torch.Tensor | np.ndarray"]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite. Pass ``allow_divergence=True`` for deliberate instabilities."""


class _Records:
    """Name lookup shared by :class:`History` and :class:`lmlib.ensemble.EnsembleHistory`."""

    values: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.values[name]
        except KeyError:
            raise KeyError(f"no observable {name!r} was recorded; have {sorted(self.values)}") from None

    def __contains__(self, name: str) -> bool:
        return name in self.values

    @property
    def loss(self) -> np.ndarray:
        """The recorded full-data training loss: ``[T]`` for one run, ``[T, N]`` for an ensemble."""
        return self.values["loss"]


@dataclass
class History(_Records):
    """What a training run recorded.

    Attributes:
        steps: the step numbers of the records (step t = state after t updates), shape ``[T]``.
        values: observable name → array of shape ``[T, ...]``; always has ``"loss"``.
        diverged: True if the run stopped early on a NaN/inf loss (only with ``allow_divergence``).

    ``history["loss"]`` is short for ``history.values["loss"]``.
    """

    steps: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)
    diverged: bool = False


def _mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if out.shape != y.shape:
        if out.ndim == 2 and out.shape[1] == 1 and y.ndim == 1:
            out = out[:, 0]
        else:
            raise ValueError(f"model output shape {tuple(out.shape)} does not match y shape {tuple(y.shape)}")
    return 0.5 * (out - y).pow(2).reshape(out.shape[0], -1).sum(1).mean()


def _cross_entropy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(out, y)


_LOSSES: dict[str, LossFn] = {"mse": _mse, "cross_entropy": _cross_entropy}


def loss_function(loss: str | LossFn) -> LossFn:
    """Resolve ``"mse"`` (½·mean‖y − f‖²), ``"cross_entropy"`` or a callable ``(output, y) -> scalar``."""
    if callable(loss):
        return loss
    return _LOSSES[check_choice("loss", loss, list(_LOSSES))]


def _check_batch_size(batch_size: int | None, n: int) -> int | None:
    """``None`` (full batch) or an int in [1, n]; shared by train and train_ensemble."""
    if batch_size is None:
        return None
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if batch_size > n:
        raise ValueError(f"batch_size={batch_size} exceeds the number of examples ({n})")
    return batch_size


def _check_record(record: Mapping | None, *, takes: str) -> dict:
    """A copy of ``record`` after checking names and callables; ``takes`` names the argument."""
    record = dict(record or {})
    if "loss" in record:
        raise ValueError("'loss' is always recorded; choose another name for your observable")
    for name, fn in record.items():
        if not callable(fn):
            raise TypeError(f"record[{name!r}] must be a callable taking {takes}, got {type(fn).__name__}")
    return record


def _make_optimizer(name: str | Callable, params, lr: float, weight_decay: float, momentum: float):
    if callable(name):
        return name(params)
    check_choice("optimizer", name, ["sgd", "adam", "adamw"])
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if momentum:
        raise ValueError("momentum applies to optimizer='sgd'; Adam's betas are set with a custom optimizer")
    cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    return cls(params, lr=lr, weight_decay=weight_decay)


def _show_progress(progress: bool | None) -> bool:
    # Bars help a person watching a terminal or Colab; in a book build they would be
    # baked into the page as noise, so the default is off unless someone is looking.
    if progress is not None:
        return bool(progress)
    env = os.environ.get("LMLIB_PROGRESS", "").strip().lower()
    if env in {"0", "1", "true", "false"}:
        return env in {"1", "true"}
    if os.environ.get("CI"):
        return False
    return sys.stderr.isatty() or "google.colab" in sys.modules


def _to_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float64).numpy()
    return np.asarray(value, dtype=np.float64)


def train(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    lr: float,
    steps: int,
    loss: str | LossFn = "mse",
    optimizer: str | Callable = "sgd",
    batch_size: int | None = None,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    lr_schedule: Callable[[int], float] | None = None,
    record: Mapping[str, Observable] | None = None,
    record_every: int = 1,
    seed: int = 0,
    progress: bool | None = None,
    allow_divergence: bool = False,
) -> History:
    """Train ``model`` on ``(x, y)`` in place and record observables along the way.

    Records are taken at steps 0, ``record_every``, 2·``record_every``, … and at the
    last step; step t means "after t updates". The recorded ``"loss"`` is the loss
    on all of ``(x, y)``, not on a minibatch.

    Args:
        model: the network; it is trained in place on the device of its parameters
            (``x`` and ``y`` are moved there).
        x, y: training inputs ``[n, ...]`` and targets ``[n, ...]`` (class indices for
            cross-entropy).
        lr: learning rate.
        steps: number of updates.
        loss: ``"mse"`` (½·mean‖y − f‖²), ``"cross_entropy"`` or a callable ``(output, y)``.
        optimizer: ``"sgd"`` (plain gradient descent when full batch), ``"adam"``, ``"adamw"``,
            or a callable ``params -> torch.optim.Optimizer``.
        batch_size: minibatch size (sampled without replacement each step); ``None`` is full batch.
        weight_decay, momentum: passed to the optimizer.
        lr_schedule: ``lr_schedule(t)`` multiplies every parameter group's learning rate for
            update ``t`` (``torch.optim.lr_scheduler.LambdaLR``), e.g. a cosine decay.
        record: extra observables, name → function of the model returning a number or array.
        record_every: record every this many steps.
        seed: seed for minibatch sampling.
        progress: show a tqdm bar; default: only in a terminal or on Colab
            (``LMLIB_PROGRESS=1``/``0`` overrides).
        allow_divergence: on a NaN/inf loss, stop and return with ``diverged=True``
            instead of raising.

    Returns:
        A :class:`History` with ``"loss"`` and every observable in ``record``.

    Raises:
        TrainingDiverged: when the loss becomes NaN or infinite (unless allowed);
            the message suggests a smaller learning rate.
        ValueError, TypeError: on bad arguments.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x = check_tensor("x", x)
    y = check_tensor("y", y)
    if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same number of examples (first dimension); "
                         f"got x {tuple(x.shape)} and y {tuple(y.shape)}")
    lr = check_real("lr", lr, positive=True)
    steps = check_int("steps", steps, minimum=0)
    record_every = check_int("record_every", record_every, minimum=1)
    weight_decay = check_real("weight_decay", weight_decay, nonnegative=True)
    momentum = check_real("momentum", momentum, nonnegative=True)
    n = x.shape[0]
    batch_size = _check_batch_size(batch_size, n)
    record = _check_record(record, takes="the model")
    loss_fn = loss_function(loss)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    dev = params[0].device
    x, y = x.to(dev), y.to(dev)
    opt = _make_optimizer(optimizer, params, lr, weight_decay, momentum)
    if lr_schedule is not None and not callable(lr_schedule):
        raise TypeError(f"lr_schedule must be a callable step -> factor, got {type(lr_schedule).__name__}")
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lr_schedule) if lr_schedule is not None else None
    gen = torch.Generator(device="cpu").manual_seed(check_int("seed", seed, minimum=0))

    rec_steps: list[int] = []
    rec_vals: dict[str, list[np.ndarray]] = {"loss": [], **{k: [] for k in record}}

    def take_record(step: int, full_loss: torch.Tensor) -> None:
        rec_steps.append(step)
        rec_vals["loss"].append(_to_numpy(full_loss))
        with torch.no_grad():
            for name, fn in record.items():
                rec_vals[name].append(_to_numpy(fn(model)))

    def diverged(step: int, value: float) -> bool:
        if math.isfinite(value):
            return False
        if allow_divergence:
            return True
        raise TrainingDiverged(
            f"the loss became {value} at step {step} with lr={lr:g}: the run diverged. "
            f"Try a smaller learning rate (e.g. lr={lr / 4:g}), or pass allow_divergence=True "
            f"if the instability is the point of the experiment.")

    from tqdm.auto import tqdm  # imported here: tqdm.auto probes for Jupyter on import

    bar = tqdm(total=steps, disable=not _show_progress(progress), leave=False, mininterval=0.5)
    stopped = False
    model.train()
    for step in range(steps + 1):
        is_record = step % record_every == 0 or step == steps
        if batch_size is None:
            # Full batch: the loss that drives this update is the state's loss, so record it free.
            if step == steps:
                with torch.no_grad():
                    full = loss_fn(model(x), y)
            else:
                opt.zero_grad(set_to_none=True)
                full = loss_fn(model(x), y)
            if is_record:
                take_record(step, full.detach())
            if diverged(step, full.item() if is_record or step % 50 == 0 else 0.0):
                stopped = True
                break
            if step == steps:
                break
            full.backward()
        else:
            if is_record:
                with torch.no_grad():
                    full = loss_fn(model(x), y)
                take_record(step, full)
                if diverged(step, full.item()):
                    stopped = True
                    break
            if step == steps:
                break
            idx = torch.randperm(n, generator=gen)[:batch_size].to(dev)
            opt.zero_grad(set_to_none=True)
            batch_loss = loss_fn(model(x[idx]), y[idx])
            batch_loss.backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        bar.update(1)
    bar.close()
    return History(
        steps=np.asarray(rec_steps, dtype=np.int64),
        values={k: np.stack(v) if v else np.empty((0,)) for k, v in rec_vals.items()},
        diverged=stopped,
    )

