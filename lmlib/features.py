"""How far a network's features moved: the observables that tell lazy from rich training.

* :func:`relative_change` -- ‖W_T − W_0‖ / ‖W_0‖. In the lazy (kernel) regime it vanishes with
  width as m^(-1/2) in NTK parameterization (Jacot et al. 2018; Chizat et al. 2019); in the rich
  regime it is of order one or larger.
* :func:`subspace_alignment` -- the fraction of the first layer's squared norm that lies in a
  given subspace (a teacher's directions). A random matrix has r/d of it; features that learned
  the teacher have almost all of it.
* :func:`kernel_target_alignment` -- yᵀKy / (‖K‖_F ‖y‖²) (Cristianini et al. 2002), by default
  after centring K and y (Cortes et al. 2012): how much of a Gram matrix points along the
  target. Rich training raises it; lazy training cannot.

Every function accepts leading batch dimensions (an ensemble's member axis), so one call scores
a whole ``train_ensemble`` run.
"""
from __future__ import annotations

import torch

from lmlib._checks import check_tensor

__all__ = ["relative_change", "subspace_alignment", "kernel_target_alignment"]


def relative_change(w: torch.Tensor, w0: torch.Tensor) -> torch.Tensor:
    """Relative change ‖w − w0‖_F / ‖w0‖_F over the last two dimensions.

    Args:
        w: weights after training, ``[..., a, b]`` (a vector ``[b]`` is treated as ``[1, b]``).
        w0: the same weights at initialisation, same shape.

    Returns:
        Tensor of shape ``w.shape[:-2]`` (a 0-d tensor for a single matrix).

    Raises:
        TypeError: if an input is not a floating tensor.
        ValueError: if the shapes differ or ``w0`` has zero norm.
    """
    w = check_tensor("w", w, floating=True)
    w0 = check_tensor("w0", w0, floating=True)
    if w.shape != w0.shape:
        raise ValueError(f"w and w0 must have the same shape, got {tuple(w.shape)} and {tuple(w0.shape)}")
    if w.ndim == 1:
        w, w0 = w[None], w0[None]
    norm0 = torch.linalg.matrix_norm(w0)
    if bool((norm0 == 0).any()):
        raise ValueError("w0 has zero norm: the relative change is undefined")
    return torch.linalg.matrix_norm(w - w0) / norm0


def subspace_alignment(w: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Fraction ‖W U‖²_F / ‖W‖²_F of a first layer's squared norm inside span(U).

    Rows of ``w`` are the hidden units' weight vectors; U has orthonormal columns. The value is
    in [0, 1]; for Gaussian random rows it is r/d on average, for rows inside the subspace 1.
    Weighting by squared norm lets the units that grew (the learned features) dominate.

    Args:
        w: first-layer weights ``[..., m, d]``.
        directions: orthonormal U ``[d, r]``.

    Returns:
        Tensor of shape ``w.shape[:-2]``.

    Raises:
        TypeError: if an input is not a floating tensor.
        ValueError: for mismatched dimensions, non-orthonormal U, or a zero ``w``.
    """
    w = check_tensor("w", w, floating=True)
    U = check_tensor("directions", directions, ndim=2, floating=True).to(w)
    if w.ndim < 2 or w.shape[-1] != U.shape[0]:
        raise ValueError(f"w must be [..., m, d] with d = {U.shape[0]} (rows of directions), "
                         f"got {tuple(w.shape)}")
    eye = torch.eye(U.shape[1], dtype=U.dtype, device=U.device)
    if float((U.T @ U - eye).abs().max()) > 1e-4:
        raise ValueError("directions must have orthonormal columns (UᵀU = I)")
    total = w.pow(2).sum((-2, -1))
    if bool((total == 0).any()):
        raise ValueError("w is zero: the alignment is undefined")
    return (w @ U).pow(2).sum((-2, -1)) / total


def kernel_target_alignment(K: torch.Tensor, y: torch.Tensor, *, center: bool = True) -> torch.Tensor:
    """Kernel–target alignment yᵀKy / (‖K‖_F · ‖y‖²) of Gram matrices ``[..., n, n]``.

    It is the cosine between K and the rank-one "ideal kernel" y yᵀ in Frobenius inner product:
    1 when K ∝ y yᵀ, small for a kernel blind to the target. With ``center`` (the default) K is
    replaced by HKH and y by Hy, H = I − 11ᵀ/n (Cortes et al. 2012): otherwise the constant
    mode that every ReLU kernel has would align with the target's mean and hide the rest.

    Args:
        K: Gram matrix (or a batch of them) ``[..., n, n]``.
        y: targets ``[n]``.
        center: centre K and y first.

    Returns:
        Tensor of shape ``K.shape[:-2]``.

    Raises:
        TypeError: if an input is not a floating tensor or ``center`` is not a bool.
        ValueError: if K is not square, y has the wrong length, or K or y is zero.
    """
    K = check_tensor("K", K, floating=True)
    y = check_tensor("y", y, ndim=1, floating=True).to(K)
    if not isinstance(center, bool):
        raise TypeError(f"center must be a bool, got {type(center).__name__}")
    if K.ndim < 2 or K.shape[-1] != K.shape[-2]:
        raise ValueError(f"K must be [..., n, n], got {tuple(K.shape)}")
    if K.shape[-1] != y.shape[0]:
        raise ValueError(f"y must have n = {K.shape[-1]} entries like K, got {y.shape[0]}")
    if center:
        y = y - y.mean()
        K = K - K.mean(-1, keepdim=True) - K.mean(-2, keepdim=True) + K.mean((-2, -1), keepdim=True)
    k_norm, y2 = torch.linalg.matrix_norm(K), y @ y
    if bool((k_norm == 0).any()) or float(y2) == 0:
        raise ValueError("K and y must be nonzero (after centring, if center=True)")
    return torch.einsum("i,...ij,j->...", y, K, y) / (k_norm * y2)
