#!/usr/bin/env python
"""One optimiser step of Kourkoutas-β vs the same framework's Adam, ~10M parameters, per framework.

Prints ms per step and the ratio Kβ / Adam side by side (goal: <= 1.3 in every framework), plus a step
with Kβ's diagnostics (computed by the training loops only on logged steps), and writes
results/benchmarks/optimizers.csv. Each step is what a training loop runs: MLX compiled with
mx.compile, JAX under jax.jit, torch eager with fused kernels (Adam/AdamW with fused=True, Kβ through the
same kernel per tensor); torch's default unfused Adam is printed for comparison.

    python benchmarks/optimizers.py [--d 384 --layers 6 --repeats 20 --threads 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
import _table  # noqa: E402

KBETA = {"algorithm": "kbeta", "beta2_min": 0.88, "alpha": 0.93, "bias_correction": "beta2max",
         "layer_bucket": "per-array", "diagnostics": False}
KBETA_DIAG = {**KBETA, "diagnostics": True}  # what a logged step costs (training loops log every N steps)
ADAM = {"algorithm": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


def shapes(d: int, layers: int) -> dict[str, tuple]:
    out = {}
    for i in range(layers):
        out.update({f"l{i}.qkv": (d, 3 * d), f"l{i}.proj": (d, d), f"l{i}.fc": (d, 4 * d), f"l{i}.out": (4 * d, d),
                    f"l{i}.ln1": (d,), f"l{i}.ln2": (d,), f"l{i}.bias": (4 * d,)})
    return out


def timed(step, repeats: int) -> float:
    for _ in range(3):
        step()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        samples.append(time.perf_counter() - started)
    samples.sort()
    return 1000 * samples[len(samples) // 2]


def bench_mlx(spec, arrays, grads, repeats):
    import mlx.core as mx
    from testbeds.optim import mlx_optim

    params = {k: mx.array(v) for k, v in arrays.items()}
    g = {k: mx.array(v) for k, v in grads.items()}
    opt = mlx_optim.make_optimizer(spec, 1e-3)
    mlx_optim.init_state(opt, params)
    holder = {"params": params}
    state = [holder, opt.state]

    def update(grads):
        if mlx_optim.is_kbeta(opt):
            opt.layer_key_fn.bind(holder["params"])
        holder["params"] = opt.apply_gradients(grads, holder["params"])

    compiled = mx.compile(update, inputs=state, outputs=state)
    return timed(lambda: (compiled(g), mx.eval(holder["params"], opt.state)), repeats)


def bench_torch(spec, arrays, grads, repeats, unfused_adam=False):
    import torch
    from testbeds.optim.registry import make_optimizer

    params = {k: torch.nn.Parameter(torch.from_numpy(v.copy())) for k, v in arrays.items()}
    for k, p in params.items():
        p.grad = torch.from_numpy(grads[k].copy())
    if unfused_adam:
        opt = torch.optim.Adam(params.values(), lr=1e-3)
    else:
        opt = make_optimizer("torch", spec, 1e-3, params=list(params.items()))
    return timed(opt.step, repeats)


def bench_jax(spec, arrays, grads, repeats):
    import jax
    import optax
    from testbeds.optim.registry import make_optimizer

    opt = make_optimizer("jax", spec, 1e-3)
    params = jax.tree_util.tree_map(jax.numpy.asarray, arrays)
    g = jax.tree_util.tree_map(jax.numpy.asarray, grads)
    holder = {"params": params, "state": opt.init(params)}

    @jax.jit
    def step(params, state, grads):
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    def run():
        holder["params"], holder["state"] = step(holder["params"], holder["state"], g)
        jax.block_until_ready(holder["params"])

    return timed(run, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--d", type=int, default=384)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks" / "optimizers.csv")
    args = parser.parse_args()
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    spec_shapes = shapes(args.d, args.layers)
    arrays = {k: rng.normal(size=s).astype(np.float32) for k, s in spec_shapes.items()}
    grads = {k: rng.normal(size=s).astype(np.float32) * 0.01 for k, s in spec_shapes.items()}
    n_params = sum(a.size for a in arrays.values())
    rows = []
    for framework, bench in (("mlx", bench_mlx), ("torch", bench_torch), ("jax", bench_jax)):
        adam, kbeta = bench(ADAM, arrays, grads, args.repeats), bench(KBETA, arrays, grads, args.repeats)
        diag = bench(KBETA_DIAG, arrays, grads, args.repeats)
        rows.append({"framework": framework, "params": n_params, "tensors": len(arrays), "adam_ms": round(adam, 2),
                     "kbeta_ms": round(kbeta, 2), "kbeta_over_adam": round(kbeta / adam, 3),
                     "kbeta_diagnostics_ms": round(diag, 2)})
    print(f"{n_params / 1e6:.1f}M parameters in {len(arrays)} tensors, {args.threads} thread(s), median of {args.repeats}")
    print(f"{'framework':<10} {'Adam ms':>9} {'Kβ ms':>9} {'Kβ/Adam':>8} {'Kβ+diagnostics ms':>18}")
    for r in rows:
        print(f"{r['framework']:<10} {r['adam_ms']:>9.2f} {r['kbeta_ms']:>9.2f} {r['kbeta_over_adam']:>8.3f} "
              f"{r['kbeta_diagnostics_ms']:>18.2f}")
    unfused = bench_torch(ADAM, arrays, grads, args.repeats, unfused_adam=True)
    print(f"torch's default (unfused) Adam: {unfused:.2f} ms")
    print("goal: Kβ/Adam <= 1.3 in every framework")
    _table.save(rows, args.out)


if __name__ == "__main__":
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    main()
