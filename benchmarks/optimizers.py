#!/usr/bin/env python
"""One optimiser step of every algorithm vs the same framework's Adam, ~10M parameters, per framework.

Prints ms per step and the ratio to Adam side by side for Kβ (goal: <= 1.3 in every framework), Kβ with
its diagnostics (computed by the training loops only on logged steps), Muon, Lion, Adafactor and
Schedule-Free AdamW, and writes results/benchmarks/optimizers.csv. Each step is what a training loop runs:
MLX compiled with mx.compile, JAX under jax.jit, torch eager (Adam/AdamW with fused=True, Kβ through the
same kernel per tensor, the others as their libraries run by default); torch's default unfused Adam is
printed for comparison. The tensors are a transformer's: an embedding and a head (AdamW under Muon),
hidden matrices (Muon) and vectors.

    python benchmarks/optimizers.py [--d 384 --layers 6 --repeats 30 --threads 1]
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from testbeds.speedups.blas import ensure_fast_blas  # noqa: E402
from testbeds.speedups.memory import keep_freed_memory  # noqa: E402

import _table  # noqa: E402

KBETA = {
    "algorithm": "kbeta",
    "beta2_min": 0.88,
    "alpha": 0.93,
    "bias_correction": "beta2max",
    "layer_bucket": "per-array",
    "diagnostics": False,
}
KBETA_DIAG = {**KBETA, "diagnostics": True}  # what a logged step costs (training loops log every N steps)
ADAM = {"algorithm": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
# each one's step against Adam's, in this order (the config's default options)
OPTIMIZERS = {
    "kbeta": KBETA,
    "kbeta+diagnostics": KBETA_DIAG,
    "muon": {"algorithm": "muon"},
    "lion": {"algorithm": "lion"},
    "adafactor": {"algorithm": "adafactor"},
    "schedule_free_adamw": {"algorithm": "schedule_free_adamw"},
}


def shapes(d: int, layers: int, vocab: int = 256) -> dict[str, tuple]:
    out = {"embed": (vocab, d), "head": (d, vocab)}
    for i in range(layers):
        out.update(
            {
                f"l{i}_qkv": (d, 3 * d),
                f"l{i}_proj": (d, d),
                f"l{i}_fc": (d, 4 * d),
                f"l{i}_out": (4 * d, d),
                f"l{i}_ln1": (d,),
                f"l{i}_ln2": (d,),
                f"l{i}_bias": (4 * d,),
            }
        )
    return out


def interleaved(steps: dict, repeats: int) -> dict[str, float]:
    """Median ms of each step, timed in turns (one of each per round) so that drifts in the machine's
    speed affect all of them alike."""
    for step in steps.values():
        for _ in range(3):
            step()
    samples = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            samples[name].append(time.perf_counter() - started)
    return {name: 1000 * sorted(times)[len(times) // 2] for name, times in samples.items()}


def mlx_step(spec, arrays, grads):
    import mlx.core as mx

    from testbeds.optim import mlx_optim
    from testbeds.optim.registry import make_optimizer

    params = {k: mx.array(v) for k, v in arrays.items()}
    g = {k: mx.array(v) for k, v in grads.items()}
    opt = make_optimizer("mlx", spec, 1e-3)
    mlx_optim.init_state(opt, params)
    holder = {"params": params}
    state = [holder, opt.state]

    def update(grads):
        if mlx_optim.is_kbeta(opt):
            opt.layer_key_fn.bind(holder["params"])
        holder["params"] = opt.apply_gradients(grads, holder["params"])

    compiled = mx.compile(update, inputs=state, outputs=state)
    return lambda: (compiled(g), mx.eval(holder["params"], opt.state))


def torch_step(spec, arrays, grads, unfused_adam=False):
    import torch

    from testbeds.optim.registry import make_optimizer

    params = {k: torch.nn.Parameter(torch.from_numpy(v.copy())) for k, v in arrays.items()}
    for k, p in params.items():
        p.grad = torch.from_numpy(grads[k].copy())
    if unfused_adam:
        opt = torch.optim.Adam(params.values(), lr=1e-3)
    else:
        opt = make_optimizer("torch", spec, 1e-3, params=list(params.items()))
    return opt.step


def jax_step(spec, arrays, grads, threads=1):
    import jax
    import optax

    from testbeds.devices import resolve_jax
    from testbeds.optim.registry import make_optimizer

    resolve_jax("cpu", threads)  # XLA's thread pool as in a job of this many threads

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

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--d", type=int, default=384)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks" / "optimizers.csv")
    args = parser.parse_args()
    ensure_fast_blas(args.threads)  # MLX's matmuls (Muon's Newton-Schulz) on the BLAS the training jobs preload
    keep_freed_memory()  # as the training jobs do (testbeds.speedups.prepare_process)
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    spec_shapes = shapes(args.d, args.layers)
    arrays = {k: rng.normal(size=s).astype(np.float32) for k, s in spec_shapes.items()}
    grads = {k: rng.normal(size=s).astype(np.float32) * 0.01 for k, s in spec_shapes.items()}
    n_params = sum(a.size for a in arrays.values())
    rows, unfused = [], None
    for framework, make_step in (("mlx", mlx_step), ("torch", torch_step), ("jax", jax_step)):
        make = functools.partial(make_step, arrays=arrays, grads=grads)
        if framework == "jax":
            make = functools.partial(make, threads=args.threads)
        steps = {"adam": make(ADAM), **{name: make(spec) for name, spec in OPTIMIZERS.items()}}
        if framework == "torch":
            steps["unfused"] = make(ADAM, unfused_adam=True)
        ms = interleaved(steps, args.repeats)
        unfused = ms.pop("unfused", unfused)
        for name, value in ms.items():
            rows.append(
                {
                    "framework": framework,
                    "optimizer": name,
                    "params": n_params,
                    "tensors": len(arrays),
                    "ms": round(value, 2),
                    "over_adam": round(value / ms["adam"], 3),
                }
            )
    print(
        f"{n_params / 1e6:.1f}M parameters in {len(arrays)} tensors, {args.threads} thread(s), median of {args.repeats}"
    )
    names = ["adam", *OPTIMIZERS]
    table = {(r["framework"], r["optimizer"]): r for r in rows}
    print(f"{'ms per step (x Adam)':<22}" + "".join(f"{f:>18}" for f in ("mlx", "torch", "jax")))
    for name in names:
        cells = [table[(f, name)] for f in ("mlx", "torch", "jax")]
        print(f"{name:<22}" + "".join(f"{c['ms']:>9.2f} ({c['over_adam']:>5.2f})" for c in cells))
    print(f"torch's default (unfused) Adam: {unfused:.2f} ms")
    print("goal: Kβ/Adam <= 1.3 in every framework")
    _table.save(rows, args.out)


if __name__ == "__main__":
    main()
