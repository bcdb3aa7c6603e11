"""Data with a power-law spectrum: the setting where scaling laws can be derived and measured.

* :class:`PowerLawTeacher` -- an infinite stream of inputs x ∈ R^d with independent coordinates
  x_k ~ N(0, k^(−a)) and a fixed random ReLU teacher, ``y = Σ_j ±relu(u_j·x)``, standardised to
  mean 0 and variance 1. A student trained on fresh batches from it never sees an example twice,
  so its training loss is its test loss: the regime of large-model scaling laws.
* :func:`power_law_gaussian` -- Gaussian inputs with covariance diag(k^(−α)) for a linear target:
  the solvable model of :mod:`lmlib.theory.scaling`.
"""
from __future__ import annotations

import torch

from lmlib._checks import check_int, check_real

__all__ = ["PowerLawTeacher", "power_law_gaussian"]


class PowerLawTeacher:
    """A random two-layer ReLU teacher on inputs with a power-law covariance.

    Inputs have independent coordinates x_k ~ N(0, k^(−decay)), k = 1 … d. The teacher is
    ``g(x) = Σ_{j ≤ width} s_j relu(u_j·x)`` with u_j ~ N(0, I_d) and random signs s_j, and the
    target is ``y = (g(x) − m)/σ`` with m, σ the mean and standard deviation of g estimated once
    from ``n_standardise`` draws, so y has mean ≈ 0 and variance ≈ 1 and a test MSE is already a
    fraction of the target's variance.

    Args:
        d: input dimension.
        width: number of teacher units.
        decay: exponent a of the input variances k^(−a) (1 gives x_k ~ N(0, 1/k)).
        seed: seed of the teacher's weights (and of the standardisation sample).
        n_standardise: draws used to estimate m and σ.
        dtype: floating dtype of the samples.

    Example:
        >>> teacher = PowerLawTeacher(64, 512, seed=3)
        >>> x, y = teacher.sample(128, torch.Generator().manual_seed(4))
    """

    def __init__(self, d: int = 64, width: int = 512, *, decay: float = 1.0, seed: int = 0,
                 n_standardise: int = 65536, dtype: torch.dtype = torch.float32) -> None:
        self.d = check_int("d", d, minimum=1)
        self.width = check_int("width", width, minimum=1)
        self.decay = check_real("decay", decay, nonnegative=True)
        n_standardise = check_int("n_standardise", n_standardise, minimum=2)
        self.dtype = dtype
        gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
        self.scale = torch.arange(1, self.d + 1, dtype=torch.float64) ** (-self.decay / 2)
        self.U = torch.randn(self.width, self.d, generator=gen, dtype=torch.float64)
        self.signs = torch.randint(0, 2, (self.width,), generator=gen).to(torch.float64) * 2 - 1
        g = self._raw(self.scale * torch.randn(n_standardise, self.d, generator=gen, dtype=torch.float64))
        self.mean, self.std = float(g.mean()), float(g.std())

    def _raw(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.U.T) @ self.signs

    def target(self, x: torch.Tensor) -> torch.Tensor:
        """The standardised teacher output y(x) for inputs ``[n, d]``."""
        return ((self._raw(x.to(torch.float64)) - self.mean) / self.std).to(self.dtype)

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` fresh examples ``(x [n, d], y [n])`` drawn with ``generator``."""
        n = check_int("n", n, minimum=1)
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        x = self.scale * torch.randn(n, self.d, generator=generator, dtype=torch.float64)
        y = ((self._raw(x) - self.mean) / self.std).to(self.dtype)
        return x.to(self.dtype), y


def power_law_gaussian(n: int, lam: torch.Tensor, *, seed: int = 0, dtype: torch.dtype = torch.float64
                       ) -> torch.Tensor:
    """``n`` Gaussian inputs with independent coordinates x_k ~ N(0, λ_k): shape ``[n, len(λ)]``.

    Args:
        n: number of samples.
        lam: the variances λ_k ≥ 0 (e.g. :func:`lmlib.theory.scaling.spectrum`), shape ``[M]``.
        seed: seed of the draw.
        dtype: floating dtype.

    Raises:
        ValueError: if ``lam`` is not 1-D or has a negative entry.
    """
    n = check_int("n", n, minimum=1)
    lam = torch.as_tensor(lam, dtype=torch.float64)
    if lam.ndim != 1 or bool((lam < 0).any()):
        raise ValueError(f"lam must be a 1-D tensor of variances >= 0, got shape {tuple(lam.shape)}")
    gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    return (torch.randn(n, lam.numel(), generator=gen, dtype=torch.float64) * lam.sqrt()).to(dtype)
