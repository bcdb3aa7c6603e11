"""μP's per-layer learning rates for an :class:`~lmlib.models.MLP` (Yang et al. 2022, Table 3).

The Maximal Update Parameterization fixes, for every layer, how its initial variance
and its learning rate scale with width so that every layer's *update* moves its
activations by Θ(1) per coordinate, whatever the width. ``MLP(parameterization="mup")``
takes care of the initialisation; the learning rates are the optimizer's business and
come from here, as ``torch.optim`` parameter groups (or as plain per-parameter
multipliers for :func:`lmlib.ensemble.train_ensemble`'s ``param_lr``).

The table implemented (η is the base learning rate; fan-in/fan-out of the layer's
weight matrix; "input" is the first layer, "output" the last, "hidden" all others):

=============  ===================  ===========  ==============
               input & all biases    hidden       output
=============  ===================  ===========  ==============
init variance  1/fan_in             1/fan_in     1/fan_in²
SGD lr         η·fan_out            η            η/fan_in
Adam lr        η                    η/fan_in     η/fan_in
=============  ===================  ===========  ==============

This is the table's "absolute" form, with no base width: at width n the rates are
literally η·n, η, η/n (SGD). Widths in the table are the *infinite* dimensions only;
the input layer's fan-in (the data dimension) stays fixed as the model grows, so it
never appears. A bias counts as a vector whose fan-out is its length.
"""
from __future__ import annotations

from torch import nn

from lmlib._checks import check_choice, check_real

__all__ = ["mup_lr_multipliers", "mup_param_groups"]


def _layers(model: nn.Module) -> list[nn.Linear]:
    from lmlib.models.mlp import MLP

    if not isinstance(model, MLP):
        raise TypeError(f"model must be an lmlib.models.MLP, got {type(model).__name__}")
    if model.parameterization != "mup":
        raise ValueError(f"model must be built with parameterization='mup' (μP's initialisation); "
                         f"got parameterization={model.parameterization!r}")
    if len(model.linears) < 2:
        raise ValueError("μP needs at least one hidden layer: model has a single linear layer")
    return list(model.linears)


def mup_lr_multipliers(model: nn.Module, *, optimizer: str = "sgd") -> dict[str, float]:
    """μP's learning-rate multiplier of every parameter (the factor in front of η).

    Args:
        model: an ``MLP(..., parameterization="mup")``.
        optimizer: ``"sgd"`` or ``"adam"`` (also right for AdamW); they scale differently
            because SGD's step grows with the gradient, Adam's does not (see the module table).

    Returns:
        Parameter name (as in ``model.named_parameters()``) → multiplier, ready for
        ``train_ensemble(..., param_lr=...)``.

    Raises:
        TypeError: if ``model`` is not an :class:`~lmlib.models.MLP`.
        ValueError: if it is not in μP, has no hidden layer, or ``optimizer`` is unknown.
    """
    check_choice("optimizer", optimizer, ["sgd", "adam"])
    layers = _layers(model)
    last = len(layers) - 1
    out: dict[str, float] = {}
    for i, lin in enumerate(layers):
        fan_in, fan_out = lin.in_features, lin.out_features
        if i == 0:
            w = float(fan_out) if optimizer == "sgd" else 1.0
        elif i == last:
            w = 1.0 / fan_in
        else:
            w = 1.0 if optimizer == "sgd" else 1.0 / fan_in
        out[f"linears.{i}.weight"] = w
        if lin.bias is not None:  # biases are vector-like with fan_out = their length
            out[f"linears.{i}.bias"] = float(fan_out) if optimizer == "sgd" else 1.0
    return out


def mup_param_groups(model: nn.Module, lr: float, *, optimizer: str = "sgd") -> list[dict]:
    """``torch.optim`` parameter groups carrying μP's per-layer learning rates.

    Example:
        >>> net = MLP((8, 512, 512, 1), parameterization="mup", seed=lmlib.seed(0))
        >>> opt = torch.optim.Adam(mup_param_groups(net, 1e-2, optimizer="adam"))

    Args:
        model: an ``MLP(..., parameterization="mup")``.
        lr: the base learning rate η (width-independent under μP).
        optimizer: ``"sgd"`` or ``"adam"``: which column of the table to use.

    Returns:
        One group per parameter, ``{"params": [p], "lr": η·multiplier, "name": name}``
        (torch ignores the extra ``name`` key; it is there for reading).

    Raises:
        TypeError, ValueError: as :func:`mup_lr_multipliers`, or if ``lr`` is not > 0.
    """
    lr = check_real("lr", lr, positive=True)
    mult = mup_lr_multipliers(model, optimizer=optimizer)
    return [{"params": [p], "lr": lr * mult[name], "name": name}
            for name, p in model.named_parameters() if name in mult]
