"""Residual networks with a depth-scaled branch, and the weight families whose depth limit exists.

The block is x_{l+1} = x_l + L^(−γ)·W_l·φ(x_l)/√N for l = 0 … L−1 (width N, depth L).
Read as a time step of size 1/L along "layer time" s = l/L, it is

* γ = 1: the forward Euler step of the neural ODE dx/ds = W(s)·φ(x)/√N (Chen et al. 2018),
  if the weights are samples W_l = W(l/L) of a smooth matrix path — error O(1/L);
* γ = ½: the Euler–Maruyama step of the SDE dx = dB(s)·φ(x)/√N, if L^(−½)·W_l are the
  increments of one matrix Brownian motion B — pathwise (strong) error O(L^(−½)).

The limit is a statement about a *family* of networks, one per depth, coupled so that
they sample the same path: :func:`smooth_path_weights` and :func:`brownian_weights` build
such families from one seed. Drawing fresh i.i.d. weights at every depth gives no pathwise
limit at all (only a limit in distribution for γ = ½).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from lmlib._checks import check_choice, check_int, check_real, check_tensor

__all__ = ["ResidualMLP", "smooth_path", "smooth_path_weights", "neural_ode", "brownian_weights", "iid_weights"]

_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda z: z}


class ResidualMLP(nn.Module):
    """A residual stack x_{l+1} = x_l + L^(−γ)·W_l·φ(x_l)/√N, optionally with read-in and read-out.

    Args:
        width: N, the dimension of the residual stream.
        depth: L, the number of residual blocks (≥ 1).
        gamma: branch exponent γ ≥ 0 (1: neural-ODE scaling; ½: SDE scaling).
        activation: φ, ``"tanh"``, ``"relu"`` or ``"linear"``.
        d_in, d_out: if given, a read-in x ↦ W_in·x/√d_in and a read-out h ↦ W_out·h/√N
            (standard Gaussian weights); otherwise the input is the stream itself, ``[..., N]``.
        weights: the block weights ``[L, N, N]`` (e.g. from :func:`smooth_path_weights`);
            default i.i.d. standard Gaussian entries.
        seed: seed for every random draw of the constructor.

    Example:
        >>> net = ResidualMLP(64, 16, gamma=1.0, weights=smooth_path_weights(64, 16, seed=0))
        >>> net(torch.randn(5, 64)).shape
        torch.Size([5, 64])
    """

    def __init__(self, width: int, depth: int, *, gamma: float = 1.0, activation: str = "tanh",
                 d_in: int | None = None, d_out: int | None = None, weights: torch.Tensor | None = None,
                 seed: int = 0) -> None:
        super().__init__()
        self.width = check_int("width", width, minimum=1)
        self.depth = check_int("depth", depth, minimum=1)
        self.gamma = check_real("gamma", gamma, nonnegative=True)
        self.activation = check_choice("activation", activation, list(_ACTIVATIONS))
        gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
        if weights is None:
            weights = torch.randn(depth, width, width, generator=gen)
        weights = check_tensor("weights", weights, ndim=3, floating=True)
        if tuple(weights.shape) != (depth, width, width):
            raise ValueError(f"weights must be [depth={depth}, width={width}, width={width}], "
                             f"got {tuple(weights.shape)}")
        self.blocks = nn.Parameter(weights.detach().clone())
        self.read_in = self.read_out = None
        if d_in is not None:
            d_in = check_int("d_in", d_in, minimum=1)
            self.read_in = nn.Parameter(torch.randn(width, d_in, generator=gen, dtype=weights.dtype))
        if d_out is not None:
            d_out = check_int("d_out", d_out, minimum=1)
            self.read_out = nn.Parameter(torch.randn(d_out, width, generator=gen, dtype=weights.dtype))

    @property
    def branch_scale(self) -> float:
        """L^(−γ)/√N, the factor in front of every branch."""
        return self.depth ** (-self.gamma) / math.sqrt(self.width)

    def stream(self, x: torch.Tensor) -> torch.Tensor:
        """The residual stream at every depth, ``[L + 1, ..., N]`` (row l is x_l)."""
        phi = _ACTIVATIONS[self.activation]
        if self.read_in is not None:
            x = x @ self.read_in.T / math.sqrt(self.read_in.shape[1])
        if x.shape[-1] != self.width:
            raise ValueError(f"the input's last dimension must be width={self.width}, got {tuple(x.shape)}")
        states = [x]
        for w in self.blocks:
            x = x + self.branch_scale * phi(x) @ w.T
            states.append(x)
        return torch.stack(states)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stream(x)[-1]
        if self.read_out is not None:
            h = h @ self.read_out.T / math.sqrt(self.width)
        return h


def _check_family(width: int, depth: int, seed: int) -> tuple[int, int, torch.Generator]:
    width = check_int("width", width, minimum=1)
    depth = check_int("depth", depth, minimum=1)
    return width, depth, torch.Generator().manual_seed(check_int("seed", seed, minimum=0))


def smooth_path(width: int, s, *, seed: int = 0, n_modes: int = 4,
                dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """One smooth random matrix path W(s) = Σ_{k<n_modes} A_k·cos(π·k·s)/(1 + k), evaluated at ``s``.

    The A_k have i.i.d. standard Gaussian entries, so every entry of W(s) has variance of
    order one. The path depends only on (width, seed, n_modes), never on where it is
    evaluated: that is what lets networks of every depth sample the *same* path.

    Args:
        width: N.
        s: layer times in [0, 1], a number or a 1-D array.
        seed, n_modes: which path, and how many cosine modes it has.

    Returns:
        ``[len(s), N, N]`` (or ``[N, N]`` for a scalar ``s``).
    """
    width = check_int("width", width, minimum=1)
    n_modes = check_int("n_modes", n_modes, minimum=1)
    gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    amplitudes = torch.randn(n_modes, width, width, generator=gen, dtype=torch.float64)
    s_t = torch.as_tensor(s, dtype=torch.float64)
    k = torch.arange(n_modes, dtype=torch.float64)
    basis = torch.cos(math.pi * k * s_t.reshape(-1, 1)) / (1.0 + k)   # [S, n_modes]
    out = torch.einsum("lk,kij->lij", basis, amplitudes).to(dtype)
    return out[0] if s_t.ndim == 0 else out


def smooth_path_weights(width: int, depth: int, *, seed: int = 0, n_modes: int = 4,
                        dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Block weights W_l = W(l/L) for γ = 1: depth-L samples of :func:`smooth_path`, ``[L, N, N]``."""
    depth = check_int("depth", depth, minimum=1)
    return smooth_path(width, torch.arange(depth, dtype=torch.float64) / depth, seed=seed,
                       n_modes=n_modes, dtype=dtype).reshape(depth, width, width)


def neural_ode(x0: torch.Tensor, *, seed: int = 0, n_modes: int = 4, activation: str = "tanh",
               rtol: float = 1e-10, atol: float = 1e-10) -> torch.Tensor:
    """The infinite-depth limit of the γ = 1 family: x(1) for dx/ds = W(s)·φ(x)/√N, x(0) = x0.

    Integrated with SciPy's DOP853 along the path of :func:`smooth_path` (same seed and
    n_modes); a ``ResidualMLP`` with ``smooth_path_weights`` is its forward Euler method.

    Args:
        x0: initial states ``[B, N]`` or ``[N]`` (float64 recommended).
        seed, n_modes: the path, as in :func:`smooth_path`.
        activation: φ, as in :class:`ResidualMLP`.
        rtol, atol: the solver's tolerances.

    Returns:
        x(1), with the shape, dtype and device of ``x0``.
    """
    from scipy.integrate import solve_ivp

    x0 = check_tensor("x0", x0, ndim=(1, 2), floating=True)
    phi = _ACTIVATIONS[check_choice("activation", activation, list(_ACTIVATIONS))]
    width = x0.shape[-1]
    gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    amplitudes = torch.randn(check_int("n_modes", n_modes, minimum=1), width, width, generator=gen,
                             dtype=torch.float64)
    k = torch.arange(n_modes, dtype=torch.float64)
    shape = x0.shape

    def rhs(s, state):
        w = torch.einsum("k,kij->ij", torch.cos(math.pi * k * s) / (1.0 + k), amplitudes)
        x = torch.from_numpy(state).reshape(-1, width)
        return (phi(x) @ w.T / math.sqrt(width)).reshape(-1).numpy()

    start = x0.detach().to("cpu", torch.float64).reshape(-1).numpy()
    sol = solve_ivp(rhs, (0.0, 1.0), start, method="DOP853", rtol=rtol, atol=atol)
    if not sol.success:
        raise ValueError(f"solve_ivp failed: {sol.message}")
    return torch.from_numpy(sol.y[:, -1].copy()).reshape(shape).to(x0.device, x0.dtype)


def brownian_weights(width: int, depth: int, *, finest: int, seed: int = 0,
                     dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Block weights for γ = ½ coupled through one matrix Brownian motion, ``[L, N, N]``.

    One Brownian motion B(s), s ∈ [0, 1], is sampled on the grid of ``finest`` steps;
    depth L (a divisor of ``finest``) gets W_l = √L·(B((l+1)/L) − B(l/L)). Each W_l has
    i.i.d. N(0, 1) entries, as in an ordinary initialisation, and L^(−½)·W_l are exactly
    the increments of the same path at every depth.

    Raises:
        ValueError: if ``depth`` does not divide ``finest``.
    """
    width, depth, gen = _check_family(width, depth, seed)
    finest = check_int("finest", finest, minimum=1)
    if finest % depth:
        raise ValueError(f"depth={depth} must divide finest={finest}")
    fine = torch.randn(finest, width, width, generator=gen, dtype=torch.float64) / math.sqrt(finest)
    increments = fine.reshape(depth, finest // depth, width, width).sum(1)
    return (math.sqrt(depth) * increments).to(dtype)


def iid_weights(width: int, depth: int, *, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Independent standard Gaussian block weights, ``[L, N, N]`` — a fresh draw at every depth."""
    width, depth, gen = _check_family(width, depth, seed)
    return torch.randn(depth, width, width, generator=gen, dtype=torch.float64).to(dtype)
