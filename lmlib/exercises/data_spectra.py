"""Answer checks for the exercises of ``chapters/05_universality/data_spectra.md``."""
from __future__ import annotations

import functools

import torch

from lmlib.exercises import Exercise


@functools.lru_cache(maxsize=1)
def _digits_ntk():
    # The chapter's population: centred digits, the bias-free two-layer ReLU NTK, one-hot − mean targets.
    from lmlib.data import digits
    from lmlib.spectra import kernel_eigensystem
    from lmlib.theory.kernels import relu_ntk

    data = digits(center=True, dtype=torch.float64)
    Y = torch.nn.functional.one_hot(data.y_train, 10).double()
    return data.x_train, kernel_eigensystem(relu_ntk(data.x_train, bias=False), Y - Y.mean(0))


def _pixel_alpha() -> float:
    from lmlib.metrics import spectrum
    from lmlib.spectra import power_law_fit

    x, _ = _digits_ntk()
    return power_law_fit(spectrum(x, "data"), 5, 40).alpha


def _eigenlearning_mse(n: int) -> float:
    from lmlib.ntk import eigenlearning

    _, es = _digits_ntk()
    return eigenlearning(es.eigenvalues, es.coefficients, n, ridge=0.0)["test_mse"]


EXERCISES: dict[str, Exercise] = {
    "pixel_alpha": Exercise(
        reference=_pixel_alpha,
        rtol=1e-3,
        hint="Use the covariance eigenvalues of the centred digits (lmlib.metrics.spectrum) and fit every "
             "index from 5 to 40 inclusive (1-based), as lmlib.spectra.power_law_fit does.",
    ),
    "eigenlearning_mse": Exercise(
        reference=lambda: _eigenlearning_mse(100),
        rtol=1e-3,
        hint="Build K/N from relu_ntk(x, bias=False), take its eigenvectors u_i, set v_i = u_iᵀY/√N with "
             "Y the one-hot labels minus their mean, and call lmlib.ntk.eigenlearning with ridge 0.",
    ),
}
