"""Measurements on representations, data and curves.

* :func:`linear_cka` and :func:`mutual_knn` compare two representations of the
  same examples (Kornblith et al. 2019; Huh et al. 2024).
* :func:`neural_collapse` measures how far last-layer features are from the
  simplex geometry of Papyan, Han & Donoho (2020).
* :func:`fit_power_law` fits y ≈ a·x^b in log–log coordinates; :func:`spectrum`
  gives the eigenvalues whose decay such fits are usually about.

Representations are matrices with one row per example, ``[n, d]``; tensors and
NumPy arrays are both accepted. Everything is computed in float64 on the
input's device: these are small reductions where float32 round-off (e.g. in
‖XᵀX‖²) would show up in the digits a chapter checks.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from lmlib._checks import check_choice, check_int, check_real, check_tensor

__all__ = ["linear_cka", "mutual_knn", "neural_collapse", "fit_power_law", "spectrum", "crossing_time"]


def _matrix(name: str, value: object, device: torch.device | None = None) -> Tensor:
    """A real 2-D tensor in float64 (on ``device`` if given), or an error naming ``name``."""
    value = check_tensor(name, value, ndim=2)
    if value.dtype == torch.bool or value.is_complex():
        raise TypeError(f"{name} must have a real numeric dtype, got {value.dtype}")
    value = value.detach().to(dtype=torch.float64, device=device)
    if not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} must contain only finite values")
    return value


def _same_rows(X: Tensor, Y: Tensor, xname: str = "X", yname: str = "Y") -> int:
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"{xname} and {yname} must have the same number of rows (examples), "
            f"got {X.shape[0]} and {Y.shape[0]}"
        )
    return X.shape[0]


def linear_cka(X: Tensor | np.ndarray, Y: Tensor | np.ndarray) -> float:
    """Centred linear CKA between two representations of the same n examples.

    CKA(X, Y) = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F) with the columns of X and Y
    centred (Kornblith, Norouzi, Lee & Hinton 2019, eq. 5). It lies in [0, 1], is
    1 when Y = c·X·Q for an orthogonal Q and c ≠ 0, is invariant to isotropic
    scaling and to orthogonal transforms of either side, but not to general
    invertible linear maps. For independent random features it is ≈ 0 only for
    n ≫ d: its bias is of order d/n.

    The feature-space form above costs O(n·d²); when d > n the equal Gram form
    ⟨K_X, K_Y⟩_F / (‖K_X‖_F ‖K_Y‖_F) with K = XXᵀ is cheaper and used instead.

    Args:
        X: Tensor or array [n, d1].
        Y: Tensor or array [n, d2] (same examples, same order).

    Returns:
        The CKA as a float.

    Raises:
        TypeError: if X or Y is not a tensor/array of real numbers.
        ValueError: if X or Y is not 2-D, their row counts differ, n < 2, a
            value is not finite, or a representation is constant (zero variance).
    """
    X = _matrix("X", X)
    Y = _matrix("Y", Y, device=X.device)
    n = _same_rows(X, Y)
    if n < 2:
        raise ValueError(f"X and Y need at least 2 rows (examples), got {n}")
    X = X - X.mean(dim=0)
    Y = Y - Y.mean(dim=0)
    d1, d2 = X.shape[1], Y.shape[1]
    if d1 * d2 + d1 * d1 + d2 * d2 <= n * (d1 + d2):
        hsic = (Y.T @ X).square().sum()
        norm_x, norm_y = torch.linalg.matrix_norm(X.T @ X), torch.linalg.matrix_norm(Y.T @ Y)
    else:
        Kx, Ky = X @ X.T, Y @ Y.T
        hsic = (Kx * Ky).sum()
        norm_x, norm_y = torch.linalg.matrix_norm(Kx), torch.linalg.matrix_norm(Ky)
    for name, norm in (("X", norm_x), ("Y", norm_y)):
        if float(norm) == 0.0:
            raise ValueError(f"{name} is constant across examples (zero variance); CKA is undefined")
    return float(hsic / (norm_x * norm_y))


def _knn(Z: Tensor, k: int, metric: str) -> Tensor:
    """Indices [n, k] of each row's k nearest other rows."""
    if metric == "cosine":
        Zn = F.normalize(Z, dim=1)
        dist = 1.0 - Zn @ Zn.T
    else:
        dist = torch.cdist(Z, Z)
    dist.fill_diagonal_(math.inf)  # a point is not its own neighbour
    return dist.topk(k, dim=1, largest=False).indices


def mutual_knn(
    X: Tensor | np.ndarray,
    Y: Tensor | np.ndarray,
    k: int = 10,
    *,
    metric: str = "euclidean",
) -> float:
    """Mutual k-nearest-neighbour alignment of two representations.

    For each example i, take its k nearest neighbours (itself excluded) in X and
    in Y, and count the fraction of the k they share; return the mean over i
    (Huh, Cheung, Wang & Isola 2024, "The platonic representation hypothesis").
    1 means the two representations agree on every neighbourhood; independent
    random representations give about k/(n − 1). It is invariant to rotations,
    translations and scalings of either side (and, with ``metric="cosine"``, to
    rescaling single rows). Huh et al. L2-normalise features and rank by inner
    product, which is ``metric="cosine"``. Ties are broken by ``topk``.

    Args:
        X: Tensor or array [n, d1].
        Y: Tensor or array [n, d2] (same examples, same order).
        k: number of neighbours, 1 ≤ k < n.
        metric: ``"euclidean"`` or ``"cosine"``.

    Returns:
        The mean overlap fraction, a float in [0, 1].

    Raises:
        TypeError: if X or Y is not a tensor/array of real numbers, or k not an int.
        ValueError: if the shapes are wrong, the row counts differ, k ≥ n, or the
            metric is unknown.
    """
    X = _matrix("X", X)
    Y = _matrix("Y", Y, device=X.device)
    n = _same_rows(X, Y)
    k = check_int("k", k, minimum=1)
    if k >= n:
        raise ValueError(f"k must be < n (the number of examples, {n}), got {k}")
    check_choice("metric", metric, ("euclidean", "cosine"))
    # One boolean row per example marking its neighbours; the overlap is the
    # row-wise AND. O(n²) memory, the same as the distance matrix itself.
    mask_x = torch.zeros(n, n, dtype=torch.bool, device=X.device).scatter_(1, _knn(X, k, metric), True)
    mask_y = torch.zeros(n, n, dtype=torch.bool, device=X.device).scatter_(1, _knn(Y, k, metric), True)
    return float((mask_x & mask_y).sum(dtype=torch.float64) / (n * k))


def neural_collapse(
    features: Tensor | np.ndarray,
    labels: Tensor | np.ndarray,
    W: Tensor | np.ndarray | None = None,
    b: Tensor | np.ndarray | None = None,
) -> dict[str, float | None]:
    """Neural-collapse metrics NC1–NC4 of last-layer features (Papyan, Han & Donoho 2020).

    Notation: C classes, class means μ_c, global mean μ_G = (1/C)Σ_c μ_c (for
    balanced classes this is Papyan et al.'s mean over all samples; for
    imbalanced ones it keeps a perfect simplex at nc2 = 0), centred means
    μ̃_c = μ_c − μ_G stacked as the rows of M̃ ∈ R^{C×d}.

    * ``nc1`` = tr(Σ_W Σ_B⁺)/C, with Σ_W = (1/n)Σ_i (h_i − μ_{y_i})(h_i − μ_{y_i})ᵀ
      and Σ_B = (1/C)Σ_c μ̃_c μ̃_cᵀ: within-class variability relative to the
      between-class spread (Papyan et al. 2020, Fig. 6). 0 at collapse.
    * ``nc2`` = ‖M̃M̃ᵀ/‖M̃M̃ᵀ‖_F − (I − 11ᵀ/C)/√(C−1)‖_F: distance of the
      normalised Gram matrix of the centred means from that of a simplex
      equiangular tight frame (the form of Zhu et al. 2021, applied to M̃). In
      [0, 2]; 0 exactly for a simplex ETF (up to rotation and scale).
    * ``nc2_equinorm`` = std_c ‖μ̃_c‖ / mean_c ‖μ̃_c‖ (population std; Papyan et
      al. Fig. 2). 0 when the means have equal norms.
    * ``nc2_angles`` = mean over c ≠ c' of |cos∠(μ̃_c, μ̃_c') + 1/(C−1)| (Papyan
      et al. Fig. 4). 0 when all pairs are at the simplex angle arccos(−1/(C−1)).
    * ``nc3`` = ‖W/‖W‖_F − M̃/‖M̃‖_F‖²_F: self-duality of the classifier rows and
      the centred means (Papyan et al. Fig. 5). In [0, 4]. None without W.
    * ``nc4``: fraction of examples on which the linear classifier argmax_c
      (W h + b)_c disagrees with the nearest-class-mean rule argmin_c ‖h − μ_c‖
      (Papyan et al. Fig. 7). None without W.

    If all class means coincide, Σ_B = 0 and nc1, nc2, nc2_angles, nc3 are NaN.

    Args:
        features: Tensor or array [n, d], one feature vector (penultimate layer) per example.
        labels: integer Tensor or array [n] of class indices. Without W, any
            integer values (≥ 2 distinct); with W, every class 0 … C−1 must occur.
        W: optional last-layer weight [C, d] (``nn.Linear(d, C).weight``).
        b: optional last-layer bias [C] (used only by nc4; default zero).

    Returns:
        dict with float values for ``nc1``, ``nc2``, ``nc2_equinorm``,
        ``nc2_angles``, and ``nc3`` and ``nc4`` (floats, or None when W is None).

    Raises:
        TypeError: if features/W/b are not real tensors/arrays or labels are not integers.
        ValueError: for wrong shapes or lengths, fewer than 2 classes, b without
            W, or labels that do not match W's rows.
    """
    H = _matrix("features", features)
    labels = check_tensor("labels", labels, ndim=1)
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"labels must have an integer dtype, got {labels.dtype}")
    labels = labels.to(H.device)
    n, d = H.shape
    if labels.shape[0] != n:
        raise ValueError(f"labels must have one entry per row of features ({n}), got {labels.shape[0]}")
    classes, y = torch.unique(labels, return_inverse=True)
    C = classes.numel()
    if C < 2:
        raise ValueError(f"labels must contain at least 2 classes, got {C}")
    if W is not None:
        W = _matrix("W", W, device=H.device)
        if W.shape[1] != d:
            raise ValueError(f"W must have shape [C, d={d}], got {tuple(W.shape)}")
        if W.shape[0] != C or not bool((classes == torch.arange(C, device=H.device)).all()):
            raise ValueError(
                f"labels must take every value 0..C-1 for W with C={W.shape[0]} rows; "
                f"found classes {classes.tolist()[:10]}{' ...' if C > 10 else ''}"
            )
    if b is not None:
        if W is None:
            raise ValueError("b was given without W")
        b = check_tensor("b", b, ndim=1)
        if b.shape[0] != C:
            raise ValueError(f"b must have shape [C={C}], got {tuple(b.shape)}")
        b = b.detach().to(dtype=torch.float64, device=H.device)

    counts = torch.bincount(y, minlength=C).to(H)
    means = torch.zeros(C, d, dtype=torch.float64, device=H.device).index_add_(0, y, H) / counts[:, None]
    M = means - means.mean(dim=0)  # M̃, rows μ̃_c
    within = H - means[y]
    nan = float("nan")
    norms = M.norm(dim=1)
    out: dict[str, float | None] = {"nc2_equinorm": float(norms.std(correction=0) / norms.mean())}
    if float(M.norm()) <= 1e-12 * float(means.norm()):
        out.update(nc1=nan, nc2=nan, nc2_angles=nan, nc2_equinorm=nan)
    else:
        # Σ_B = M̃ᵀM̃/C, so Σ_B⁺ = C·M̃⁺M̃⁺ᵀ and tr(Σ_W Σ_B⁺)/C = ‖(H − means)·M̃⁺‖²_F / n:
        # O(n·d·C) with a C×d pseudo-inverse instead of a d×d one. M̃ has rank
        # ≤ C − 1 (its rows sum to 0); pinv's default cutoff drops that null direction.
        out["nc1"] = float((within @ torch.linalg.pinv(M)).square().sum() / n)
        G = M @ M.T
        etf = (torch.eye(C, dtype=torch.float64, device=H.device) - 1.0 / C) / math.sqrt(C - 1)
        out["nc2"] = float(torch.linalg.matrix_norm(G / torch.linalg.matrix_norm(G) - etf))
        cos = G / (norms[:, None] * norms[None, :]).clamp_min(torch.finfo(torch.float64).tiny)
        off = ~torch.eye(C, dtype=torch.bool, device=H.device)
        out["nc2_angles"] = float((cos[off] + 1.0 / (C - 1)).abs().mean())
    if W is None:
        out.update(nc3=None, nc4=None)
    else:
        degenerate = math.isnan(out["nc1"])
        out["nc3"] = nan if degenerate else float((W / W.norm() - M / M.norm()).square().sum())
        logits = H @ W.T + (b if b is not None else 0.0)
        ncc = torch.cdist(H, means).argmin(dim=1)
        out["nc4"] = float((logits.argmax(dim=1) != ncc).double().mean())
    order = ("nc1", "nc2", "nc2_equinorm", "nc2_angles", "nc3", "nc4")
    return {key: out[key] for key in order}


def _positive_vector(name: str, value: object) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of numbers, got {type(value).__name__}")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of real numbers, got {type(value).__name__}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must contain only finite values")
    if (array <= 0).any():
        raise ValueError(f"{name} must be positive for a log-log fit, got minimum {array.min():g}")
    return array


def fit_power_law(
    x: Sequence[float] | np.ndarray | Tensor,
    y: Sequence[float] | np.ndarray | Tensor,
    *,
    return_r2: bool = False,
) -> tuple[float, float] | tuple[float, float, float]:
    """Fit y ≈ prefactor · x^exponent by least squares in log–log coordinates.

    Minimises Σ_i (log y_i − log prefactor − exponent·log x_i)², so every point
    weighs the same on the log scale (the usual choice for scaling laws). R²
    is that of the log–log line. A high R² alone does not prove a power law
    (white noise spectra reach 0.9): also look at the range of x it spans.

    Args:
        x: positive, finite values (list, array or tensor), at least 2, not all equal.
        y: positive, finite values, same length as x.
        return_r2: also return the coefficient of determination in log–log.

    Returns:
        ``(exponent, prefactor)`` as floats, or ``(exponent, prefactor, r2)``.

    Raises:
        TypeError: if x or y is not a sequence of real numbers.
        ValueError: if they are not 1-D, differ in length, have fewer than 2
            points, contain non-positive or non-finite values, or x is constant.
    """
    x = _positive_vector("x", x)
    y = _positive_vector("y", y)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if x.size < 2:
        raise ValueError(f"x and y need at least 2 points, got {x.size}")
    lx, ly = np.log(x), np.log(y)
    dx = lx - lx.mean()
    sxx = float(dx @ dx)
    if sxx == 0.0:
        raise ValueError("x must not be constant (all values equal): the exponent is undefined")
    exponent = float(dx @ (ly - ly.mean())) / sxx
    intercept = float(ly.mean() - exponent * lx.mean())
    if not return_r2:
        return exponent, math.exp(intercept)
    residual = ly - (intercept + exponent * lx)
    total = float(((ly - ly.mean()) ** 2).sum())
    ss_res = float(residual @ residual)
    r2 = 1.0 - ss_res / total if total > 0 else (1.0 if ss_res == 0 else 0.0)
    return exponent, math.exp(intercept), r2


def spectrum(
    matrix: Tensor | np.ndarray,
    kind: str = "data",
    *,
    center: bool | None = None,
) -> Tensor:
    """Eigenvalues, in descending order, of a data covariance or a kernel operator.

    * ``kind="data"``: ``matrix`` is data X [n, d]; returns the eigenvalues of
      the covariance (1/n)·X̃ᵀX̃ with X̃ the column-centred X (``center=True``,
      the default) or X itself. Computed from the singular values of X̃ (s²/n),
      which is more accurate than forming the covariance. Only the min(n, d)
      eigenvalues that can be non-zero are returned.
    * ``kind="kernel"``: ``matrix`` is a symmetric Gram matrix K [n, n] with
      K_ij = k(x_i, x_j); returns the eigenvalues of K/n, which estimate those of
      the kernel's integral operator under the data distribution (the λ_i of
      eigenlearning; Bordelon et al. 2020, Simon et al. 2021). ``center`` defaults
      to False; ``center=True`` uses the doubly centred HKH, H = I − 11ᵀ/n
      (kernel PCA). Round-off can leave tiny negative eigenvalues; they are kept.

    For uncentred pixels the first eigenvalue is just the mean image's norm²:
    centre data before reading a power-law decay from the spectrum.

    Args:
        matrix: Tensor or array, [n, d] for ``"data"`` or [n, n] for ``"kernel"``.
        kind: ``"data"`` or ``"kernel"``.
        center: whether to centre (see above); None picks the default for ``kind``.

    Returns:
        float64 Tensor of eigenvalues, descending, on the input's device.

    Raises:
        TypeError: if ``matrix`` is not a real tensor/array or ``center`` is not a bool.
        ValueError: for an unknown ``kind``, a non-2-D or empty matrix, or a kernel
            that is not square and symmetric.
    """
    check_choice("kind", kind, ("data", "kernel"))
    if center is not None and not isinstance(center, bool):
        raise TypeError(f"center must be a bool or None, got {type(center).__name__}")
    source_dtype = check_tensor("matrix", matrix, ndim=2).dtype
    A = _matrix("matrix", matrix)
    n = A.shape[0]
    if A.numel() == 0:
        raise ValueError(f"matrix must not be empty, got shape {tuple(A.shape)}")
    if kind == "data":
        if center is None or center:
            A = A - A.mean(dim=0)
        return torch.linalg.svdvals(A).square() / n  # svdvals are already descending
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"matrix must be square for kind='kernel', got shape {tuple(A.shape)}")
    # Gram matrices built in float32 are symmetric only to ~√ε; accept that much.
    eps = torch.finfo(source_dtype).eps if source_dtype.is_floating_point else torch.finfo(torch.float64).eps
    if float((A - A.T).abs().max()) > math.sqrt(eps) * max(float(A.abs().max()), 1e-300):
        raise ValueError("matrix must be symmetric for kind='kernel'")
    A = (A + A.T) / 2
    if center:
        A = A - A.mean(dim=0, keepdim=True) - A.mean(dim=1, keepdim=True) + A.mean()
    return torch.linalg.eigvalsh(A).flip(0) / n


def crossing_time(t, values, level: float) -> np.ndarray:
    """First time each curve reaches ``level`` from below, linearly interpolated between records.

    Used to measure when a mode is "half learned" (``values = u / s``, ``level = 0.5``)
    or when a loss first drops below a target (pass ``-loss`` and ``-target``).

    Args:
        t: record times, shape ``[T]``, increasing.
        values: curves, shape ``[T, ...]``; every trailing index is a separate curve.
        level: the level to reach.

    Returns:
        Array of shape ``values.shape[1:]`` (a float for one curve): the interpolated
        time of the first record at or above ``level``; ``t[0]`` if a curve starts
        there, ``nan`` if it never gets there.

    Raises:
        ValueError: if ``t`` is not increasing or the shapes disagree.
    """
    t = np.asarray(t, dtype=np.float64)
    v = np.asarray(values.detach().cpu() if isinstance(values, Tensor) else values, dtype=np.float64)
    if t.ndim != 1 or v.shape[:1] != t.shape or t.size < 1:
        raise ValueError(f"values must have shape [len(t)={t.size}, ...], got {v.shape}")
    if np.any(np.diff(t) <= 0):
        raise ValueError("t must be strictly increasing")
    level = check_real("level", level)
    above = v >= level
    first = np.argmax(above, axis=0)                      # index of the first record at/above level
    never = ~above.any(axis=0)
    prev = np.maximum(first - 1, 0)
    v_hi = np.take_along_axis(v, first[None], 0)[0]
    v_lo = np.take_along_axis(v, prev[None], 0)[0]
    t_hi, t_lo = t[first], t[prev]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(first > 0, (level - v_lo) / (v_hi - v_lo), 0.0)
    out = np.where(never, np.nan, t_lo + frac * (t_hi - t_lo))
    return out if out.ndim else float(out)
