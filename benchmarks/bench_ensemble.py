"""Ensemble training: a Python loop over members vs one vmapped run (lmlib.ensemble.train_ensemble).

32 MLPs 64→16→10 (tanh), ½·mean‖y − f‖² on one-hot digits (sklearn load_digits, 1797
images), 100 SGD steps, the same minibatches for every member. Three routes:

  loop      each member a normal nn.Module with its own torch.optim.SGD (the naive route)
  vmap      train_ensemble: stacked parameters, vmapped forward, one backward, batched update
  einsum    a hand-written batched model (weights [N, ...], torch.einsum) — a reference ceiling

On CPU the gain is removed Python overhead, so it shrinks as the batch grows and the run
becomes compute-bound (REFERENCE_SETUPS, performance facts); on a GPU vmap buys parallelism.

    python benchmarks/bench_ensemble.py [--device cuda] [--threads 1] [--repeats 3]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from lmlib.ensemble import train_ensemble
from lmlib.models import MLP

N_MEMBERS, DIMS, STEPS, LR = 32, (64, 16, 10), 100, 0.1


def digits(device):
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.data / 16.0, dtype=torch.float32, device=device)
    y = nn.functional.one_hot(torch.tensor(data.target), 10).float().to(device)
    return x, y


def batches(n, batch_size, device):
    # Drawn up front so every route pays the same (zero) sampling cost inside the timer,
    # except train_ensemble, which draws its own (identical) ones.
    gen = torch.Generator().manual_seed(0)
    if batch_size is None:
        return [None] * STEPS
    return [torch.randperm(n, generator=gen)[:batch_size].to(device) for _ in range(STEPS)]


def make(i):
    return MLP(DIMS, "tanh", seed=i)


def loop_route(x, y, idxs, device):
    models = [make(i).to(device) for i in range(N_MEMBERS)]
    opts = [torch.optim.SGD(m.parameters(), lr=LR) for m in models]
    for idx in idxs:
        xb, yb = (x, y) if idx is None else (x[idx], y[idx])
        for m, opt in zip(models, opts):
            opt.zero_grad(set_to_none=True)
            (0.5 * (m(xb) - yb).pow(2).sum(1).mean()).backward()
            opt.step()
    return models


def vmap_route(x, y, batch_size, device):
    models = [make(i).to(device) for i in range(N_MEMBERS)]
    # record_every=STEPS: only the first and last full-data loss, as the loop records nothing.
    return train_ensemble(models, x, y, lr=LR, steps=STEPS, batch_size=batch_size,
                          record_every=STEPS, progress=False)


def einsum_route(x, y, idxs, device):
    models = [make(i) for i in range(N_MEMBERS)]
    w1, b1, w2, b2 = (torch.stack([dict(m.named_parameters())[k].detach() for m in models]).to(device)
                      .requires_grad_() for k in ["linears.0.weight", "linears.0.bias",
                                                  "linears.1.weight", "linears.1.bias"])
    opt = torch.optim.SGD([w1, b1, w2, b2], lr=LR)
    for idx in idxs:
        xb, yb = (x, y) if idx is None else (x[idx], y[idx])
        h = torch.tanh(torch.einsum("bi,nhi->nbh", xb, w1) + b1[:, None])
        out = torch.einsum("nbh,noh->nbo", h, w2) + b2[:, None]
        opt.zero_grad(set_to_none=True)
        # Summed over members: each member's gradient is that of its own mean loss.
        (0.5 * (out - yb).pow(2).sum(2).mean(1)).sum().backward()
        opt.step()
    return w1


def timed(fn, device, repeats, warmup):
    times = []
    for _ in range(repeats + warmup):  # a warm-up run fills caches and kernels; not counted
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times[warmup:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: the reference numbers are single-thread)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    x, y = digits(device)

    print(f"{N_MEMBERS} MLPs {'→'.join(map(str, DIMS))} tanh, {STEPS} SGD steps, device={device}, "
          f"threads={torch.get_num_threads()}, median of {args.repeats}")
    print(f"{'batch':>6} {'loop s':>8} {'vmap s':>8} {'einsum s':>9} {'loop/vmap':>10} {'loop/einsum':>12}")
    for row, batch_size in enumerate((32, 256, None)):
        idxs = batches(len(x), batch_size, device)
        warm = int(row == 0)  # later rows reuse the warm kernels; keeps the script under 40 s
        t_loop = timed(lambda: loop_route(x, y, idxs, device), device, args.repeats, warm)
        t_vmap = timed(lambda: vmap_route(x, y, batch_size, device), device, args.repeats, warm)
        t_ein = timed(lambda: einsum_route(x, y, idxs, device), device, args.repeats, warm)
        label = "full" if batch_size is None else str(batch_size)
        print(f"{label:>6} {t_loop:8.3f} {t_vmap:8.3f} {t_ein:9.3f} {t_loop / t_vmap:9.1f}× {t_loop / t_ein:11.1f}×")


if __name__ == "__main__":
    main()
