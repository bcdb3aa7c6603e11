"""How fast is curvature? HVP routes, Lanczos vs a dense Hessian, and PyHessian.

Run:  python benchmarks/bench_hessian.py [--threads N] [--repeats R]

Prints medians over repeats of
  1. one Hessian-vector product on a small CNN and an MLP on sklearn's digits by
     torch.func ``jvp(grad(loss))``, by a one-shot double backward, and by
     :class:`lmlib.hessian.HessianOperator` (gradient graph built once, reused);
  2. Lanczos (``top_eigenvalues``) to tol 1e-3 and 1e-6: HVPs, time and achieved
     error, against building the dense Hessian and calling ``eigvalsh``;
  3. PyHessian's power iteration, when ``pyhessian`` is importable.
Takes well under 30 s on one CPU thread. Single-threaded by default: on a
shared 2-core machine, threads contending with other processes make timings
swing by 100×.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
import warnings

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from lmlib.hessian import HessianOperator, hvp, top_eigenvalues

from _timing import median_time  # benchmarks/ is on sys.path when run as a script



def digits(n: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    data = load_digits()
    x = torch.tensor(data.images[:n] / 16.0, dtype=torch.float32).unsqueeze(1)  # [n, 1, 8, 8]
    return x, torch.tensor(data.target[:n])


def make_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))


def make_mlp(width: int) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, width), nn.Tanh(), nn.Linear(width, 10))


def loss_of(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    params = {k: v.detach() for k, v in model.named_parameters()}
    return params, lambda p: F.cross_entropy(functional_call(model, p, (x,)), y)


def bench_hvp(name: str, model: nn.Module, x, y, repeats: int) -> None:
    params, loss_fn = loss_of(model, x, y)
    v = {k: torch.randn_like(t) for k, t in params.items()}
    op = HessianOperator(loss_fn, params)
    flat_v = torch.cat([t.reshape(-1) for t in v.values()])
    t_func = median_time(lambda: hvp(loss_fn, params, v, method="func"), repeats)
    t_once = median_time(lambda: hvp(loss_fn, params, v, method="autograd"), repeats)
    t_reuse = median_time(lambda: op.matvec(flat_v), repeats)
    print(f"{name} ({op.dim} params): func jvp(grad) {1e3 * t_func:6.2f} ms | "
          f"double backward, one-shot {1e3 * t_once:6.2f} ms | graph reused {1e3 * t_reuse:6.2f} ms "
          f"-> reuse is {t_func / t_reuse:4.1f}x faster than func")


def run_lanczos(loss_fn, params, tol: float):
    start = time.perf_counter()
    values, info = top_eigenvalues(loss_fn, params, 1, tol=tol, max_iter=300, return_info=True)
    return values[0].item(), info["n_hvp"], time.perf_counter() - start


def dense_top(loss_fn, params) -> tuple[float, float]:
    start = time.perf_counter()
    op = HessianOperator(loss_fn, params)
    H = torch.stack([op.matvec(e) for e in torch.eye(op.dim, dtype=op.dtype)])
    top = torch.linalg.eigvalsh((H + H.T) / 2)[-1].item()
    return top, time.perf_counter() - start


def pyhessian_top(model: nn.Module, x, y, tol: float):
    """Top eigenvalue by PyHessian's power iteration; returns (value, HVPs, seconds) or None."""
    try:
        from pyhessian import hessian as PyHessian
    except ImportError:
        return None
    module = sys.modules["pyhessian.hessian"]  # the package's `hessian` name is the class
    count = [0]
    original = module.hessian_vector_product

    def counted(*args, **kwargs):
        count[0] += 1
        return original(*args, **kwargs)

    module.hessian_vector_product = counted
    try:
        torch.manual_seed(0)  # PyHessian draws its start vector from the global RNG
        start = time.perf_counter()
        # A copy: PyHessian calls loss.backward(create_graph=True) on the model itself.
        h = PyHessian(copy.deepcopy(model), nn.CrossEntropyLoss(), data=(x, y), cuda=False)
        values, _ = h.eigenvalues(maxIter=300, tol=tol, top_n=1)
        return values[0], count[0], time.perf_counter() - start
    finally:
        module.hessian_vector_product = original


def oracle_hvps(loss_fn, params, exact: float, target: float) -> int:
    """Fewest Lanczos steps whose top Ritz value is within ``target`` (relative) of ``exact``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short runs stop before tol on purpose
        for m in range(1, 301):
            value = top_eigenvalues(loss_fn, params, 1, tol=1e-14, max_iter=m)[0].item()
            if abs(value - exact) <= target * abs(exact):
                return m
    return -1


def bench_eigen(name: str, model: nn.Module, x, y, dense: bool, repeats: int) -> None:
    params, loss_fn = loss_of(model, x, y)
    # The reference value in float64: dense eigvalsh, or Lanczos to 1e-12 on a bigger net.
    params64, loss64 = loss_of(copy.deepcopy(model).double(), x.double(), y)
    if dense:
        exact, _ = dense_top(loss64, params64)
        _, dense_time = dense_top(loss_fn, params)  # timed in float32, like the rest
        print(f"{name}: λ_max = {exact:.6f} [float64 dense eigvalsh; float32 dense takes {1e3 * dense_time:.0f} ms]")
    else:
        exact = top_eigenvalues(loss64, params64, 1, tol=1e-12, max_iter=300)[0].item()
        print(f"{name}: λ_max = {exact:.6f} [float64 Lanczos to 1e-12]")
    for tol in (1e-3, 1e-6):
        value, n_hvp, _ = run_lanczos(loss_fn, params, tol)
        t = median_time(lambda: run_lanczos(loss_fn, params, tol), repeats)
        ratio = f", {dense_time / t:4.0f}x faster than dense" if dense else ""
        print(f"  Lanczos   tol {tol:.0e}: {n_hvp:3d} HVPs {1e3 * t:7.1f} ms  "
              f"rel. error {abs(value - exact) / abs(exact):.1e}{ratio}")
    print(f"  Lanczos HVPs actually needed (oracle) for rel. error 1e-3 / 1e-6: "
          f"{oracle_hvps(loss_fn, params, exact, 1e-3)} / {oracle_hvps(loss_fn, params, exact, 1e-6)}")
    for tol in (1e-3, 1e-6):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = pyhessian_top(model, x, y, tol)
        if result is None:
            print("  PyHessian: skipped (pyhessian not importable; `pip install pyhessian`)")
            break
        value, n_hvp, _ = result
        times = [pyhessian_top(model, x, y, tol)[2] for _ in range(repeats)]
        print(f"  PyHessian tol {tol:.0e}: {n_hvp:3d} HVPs {1e3 * statistics.median(times):7.1f} ms  "
              f"rel. error {abs(value - exact) / abs(exact):.1e}  (power iteration, change-based stop)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), median of {args.repeats}\n")
    x, y = digits(256)
    cnn, mlp = make_cnn(), make_mlp(64)
    print("1. One Hessian-vector product, cross-entropy on 256 digits")
    bench_hvp("CNN 1→8 conv3×3, ReLU, Linear→10", cnn, x, y, 5 * args.repeats)
    bench_hvp("MLP 64→64→10 tanh", mlp, x, y, 5 * args.repeats)
    print("\n2./3. Top Hessian eigenvalue (float32; Lanczos stops on the residual, see top_eigenvalues)")
    bench_eigen("MLP 64→16→10 tanh (1210 params)", make_mlp(16), x, y, True, args.repeats)
    bench_eigen("CNN 1→8 conv3×3, ReLU, Linear→10", cnn, x, y, False, args.repeats)


if __name__ == "__main__":
    main()
