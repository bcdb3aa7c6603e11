"""Empirical NTK of an MLP 16 -> 512 -> 1 at n = 256 (float32): three ways to compute the same matrix.

1. loop      -- one autograd backward per example, stack the per-example gradients into J, then J·Jᵀ
2. torch.func -- vmap(jacrev) for all per-example gradients at once, then the J·Jᵀ contraction
3. factorised -- lmlib's per-layer identity Θ = Σ_l (G_l G_lᵀ) ⊙ (A_l A_lᵀ + 1) for nn.Linear stacks

Run: python benchmarks/bench_ntk.py   (< 30 s). It times 1 thread and torch's default thread count,
or only $OMP_NUM_THREADS when set. On a shared machine trust the 1-thread numbers: when other
processes hold the cores, multi-threaded kernels can run 10-50x slower than they should.
"""
from __future__ import annotations

import os

import torch
from torch import nn

from lmlib.ntk import empirical_ntk

from _timing import median_time  # benchmarks/ is on sys.path when run as a script


def ntk_loop(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    params = [p for p in model.parameters() if p.requires_grad]
    rows = []
    for i in range(x.shape[0]):
        grads = torch.autograd.grad(model(x[i : i + 1]).sum(), params)
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    J = torch.stack(rows)
    return J @ J.T



def bench(threads: int) -> None:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 512), nn.ReLU(), nn.Linear(512, 1))
    x = torch.randn(256, 16)

    ref = ntk_loop(model, x)
    routes = {
        "loop + J·Jᵀ": (lambda: ntk_loop(model, x), 7),
        "torch.func vmap(jacrev)": (lambda: empirical_ntk(model, x, method="jacobian"), 11),
        "factorised (nn.Linear)": (lambda: empirical_ntk(model, x, method="linear"), 31),
    }
    print(f"\nempirical NTK, MLP 16->512->1 ({sum(p.numel() for p in model.parameters())} params), "
          f"n = 256, float32, {threads} thread(s)")
    print(f"{'route':<26}{'median ms':>11}{'vs loop':>10}{'max rel err':>14}")
    t_loop = None
    for name, (fn, repeats) in routes.items():
        t = median_time(fn, repeats)
        t_loop = t_loop or t
        err = ((fn() - ref).abs().max() / ref.abs().max()).item()
        print(f"{name:<26}{1e3 * t:>11.2f}{t_loop / t:>9.1f}x{err:>14.1e}")


def main() -> None:
    if os.environ.get("OMP_NUM_THREADS"):
        counts = [int(os.environ["OMP_NUM_THREADS"])]
    else:
        counts = sorted({1, torch.get_num_threads()})
    for threads in counts:
        bench(threads)


if __name__ == "__main__":
    main()
