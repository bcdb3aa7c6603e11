"""Online training: a fresh batch every step, drawn by a function of the step.

:func:`lmlib.train.train` samples minibatches from one fixed dataset. Sequence
tasks such as the induction-head task are usually trained *online* — every step
sees sequences it has never seen — so memorisation is impossible and the loss
measures the algorithm the model has learned. Here the data come from
``batches(step)``, the loss from ``loss(model, batch)``, and the optimizer is
``torch.optim``'s Adam/AdamW with explicit betas.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import nn

from lmlib._checks import check_choice, check_int, check_real
from lmlib.train import History, TrainingDiverged, _check_record, _show_progress, _to_numpy

__all__ = ["train_online", "linear_decay"]


def linear_decay(steps: int, start: int) -> Callable[[int], float]:
    """An ``lr_schedule``: factor 1 before step ``start``, then linear decay to 0 at ``steps``.

    Raises:
        ValueError: unless ``0 <= start < steps``.
    """
    steps = check_int("steps", steps, minimum=1)
    start = check_int("start", start, minimum=0)
    if start >= steps:
        raise ValueError(f"start={start} must be < steps={steps}")

    def factor(step: int) -> float:
        return 1.0 if step < start else max(0.0, (steps - step) / (steps - start))

    return factor


def train_online(
    model: nn.Module,
    batches: Callable[[int], Any],
    loss: Callable[[nn.Module, Any], torch.Tensor],
    *,
    lr: float,
    steps: int,
    optimizer: str = "adamw",
    betas: tuple[float, float] = (0.9, 0.999),
    weight_decay: float = 0.0,
    lr_schedule: Callable[[int], float] | None = None,
    record: Mapping[str, Callable[[nn.Module], Any]] | None = None,
    record_every: int = 1,
    progress: bool | None = None,
) -> History:
    """Train ``model`` in place on a fresh batch ``batches(step)`` at every step.

    Records are taken at steps 0, ``record_every``, … and the last step (step t =
    state after t updates) with the model in eval mode and gradients off; the
    recorded ``"loss"`` is the loss on that step's batch before the update (for
    t = steps, on ``batches(steps)``), i.e. on data the model has not trained on.

    Args:
        model: the network, trained in place on its own device.
        batches: ``batches(step)`` returns the batch of update ``step`` (any object
            ``loss`` understands, already on the model's device), for step = 0 … steps.
            Make it deterministic in ``step`` (e.g. slices of one seeded draw).
        loss: ``loss(model, batch) -> scalar tensor``.
        lr: learning rate.
        steps: number of updates.
        optimizer: ``"adam"``, ``"adamw"`` (``torch.optim``, eps 1e-8) or ``"sgd"``.
        betas: Adam's (β₁, β₂).
        weight_decay: passed to the optimizer (decoupled for AdamW).
        lr_schedule: ``lr_schedule(t)`` multiplies the learning rate of update t
            (``torch.optim.lr_scheduler.LambdaLR``); see :func:`linear_decay`.
        record: extra observables, name → ``fn(model)`` returning a number or array.
        record_every: record every this many steps.
        progress: show a tqdm bar (default: only in a terminal or on Colab).

    Returns:
        A :class:`lmlib.train.History`.

    Raises:
        TrainingDiverged: if a batch loss becomes NaN or infinite.
        ValueError, TypeError: on bad arguments.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for name, fn in (("batches", batches), ("loss", loss)):
        if not callable(fn):
            raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    lr = check_real("lr", lr, positive=True)
    steps = check_int("steps", steps, minimum=0)
    record_every = check_int("record_every", record_every, minimum=1)
    weight_decay = check_real("weight_decay", weight_decay, nonnegative=True)
    check_choice("optimizer", optimizer, ["sgd", "adam", "adamw"])
    if (not isinstance(betas, (tuple, list)) or len(betas) != 2
            or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas)):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
    if lr_schedule is not None and not callable(lr_schedule):
        raise TypeError(f"lr_schedule must be a callable step -> factor, got {type(lr_schedule).__name__}")
    record = _check_record(record, takes="the model")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    if optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    else:
        cls = torch.optim.Adam if optimizer == "adam" else torch.optim.AdamW
        opt = cls(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lr_schedule) if lr_schedule is not None else None

    rec_steps: list[int] = []
    rec_vals: dict[str, list[np.ndarray]] = {"loss": [], **{k: [] for k in record}}

    def take_record(step: int, batch_loss: float) -> None:
        rec_steps.append(step)
        rec_vals["loss"].append(np.float64(batch_loss))
        model.eval()
        with torch.no_grad():
            for name, fn in record.items():
                rec_vals[name].append(_to_numpy(fn(model)))
        model.train()

    from tqdm.auto import tqdm  # imported here: tqdm.auto probes for Jupyter on import

    bar = tqdm(total=steps, disable=not _show_progress(progress), leave=False, mininterval=0.5)
    model.train()
    for step in range(steps + 1):
        is_record = step % record_every == 0 or step == steps
        batch = batches(step)
        if step == steps:
            with torch.no_grad():
                value = loss(model, batch)
        else:
            opt.zero_grad(set_to_none=True)
            value = loss(model, batch)
        if is_record or step % 50 == 0:  # .item() syncs a GPU: only when it is needed
            v = value.item()
            if not math.isfinite(v):
                raise TrainingDiverged(f"the batch loss became {v} at step {step} with lr={lr:g}; "
                                       f"try a smaller learning rate (e.g. lr={lr / 4:g})")
            if is_record:
                take_record(step, v)
        if step == steps:
            break
        value.backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        bar.update(1)
    bar.close()
    return History(steps=np.asarray(rec_steps, dtype=np.int64),
                   values={k: np.stack(v) for k, v in rec_vals.items()})
