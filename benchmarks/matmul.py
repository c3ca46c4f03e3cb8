#!/usr/bin/env python
"""Matmul peak per framework on this machine: MLX (bundled BLAS), MLX (optimised BLAS), torch, JAX (XLA).

Each measurement runs in its own process (the BLAS is chosen at process start). Prints one table
with GFLOP/s and the ratio to torch, and writes it to results/benchmarks/matmul.csv.

    python benchmarks/matmul.py [--n 1024] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
import _table  # noqa: E402


def gflops(matmul, sync, n: int, repeats: int) -> float:
    for _ in range(2):
        sync(matmul())
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        sync(matmul())
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best / 1e9


def worker(framework: str, n: int, repeats: int, threads: int) -> dict:
    if framework == "torch":
        import torch

        a, b = torch.randn(n, n), torch.randn(n, n)
        with torch.no_grad():
            value = gflops(lambda: a @ b, lambda r: r, n, repeats)
        return {"gflops": value, "blas": "torch bundled (" + torch.__config__.show().split("BLAS_INFO=")[-1].split(",")[0] + ")"}
    if framework == "jax":
        import jax

        from testbeds.devices import resolve_jax

        resolve_jax("cpu", threads)  # as a job of this many threads: XLA's thread pool sized to them

        a = jax.random.normal(jax.random.PRNGKey(0), (n, n))
        matmul = jax.jit(lambda x: x @ x)
        return {"gflops": gflops(lambda: matmul(a), lambda r: r.block_until_ready(), n, repeats), "blas": "XLA (Eigen)"}
    import mlx.core as mx

    a, b = mx.random.normal((n, n)), mx.random.normal((n, n))
    mx.eval(a, b)
    return {"gflops": gflops(lambda: a @ b, mx.eval, n, repeats), "blas": os.environ.get("TESTBEDS_BLAS", "mlx bundled")}


def measure(kind: str, n: int, threads: int, repeats: int) -> dict:
    from testbeds.blas import find_fast_blas, thread_env

    env = dict(os.environ, **thread_env(threads))
    env.pop("LD_PRELOAD", None)
    env.pop("TESTBEDS_BLAS", None)
    framework = kind if kind in ("torch", "jax") else "mlx"
    if kind == "mlx-fast":
        lib = find_fast_blas()
        if lib is None:
            return {"gflops": float("nan"), "blas": "no optimised BLAS installed"}
        env.update(LD_PRELOAD=lib, TESTBEDS_BLAS=lib)
    if kind == "torch":
        env["TORCH_NUM_THREADS"] = str(threads)
    code = (f"import sys; sys.path.insert(0, {str(REPO / 'benchmarks')!r}); import matmul, json;"
            f"import os; os.environ.get('TORCH_NUM_THREADS') and __import__('torch').set_num_threads({threads});"
            f"print(json.dumps(matmul.worker({framework!r}, {n}, {repeats}, {threads})))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks" / "matmul.csv")
    args = parser.parse_args()
    rows = []
    for threads in sorted(set(args.threads)):
        results = {kind: measure(kind, args.n, threads, args.repeats) for kind in ("mlx-bundled", "mlx-fast", "torch", "jax")}
        torch_peak = results["torch"]["gflops"]
        for kind, result in results.items():
            rows.append({"framework": kind, "threads": threads, "n": args.n, "gflops": round(result["gflops"], 1),
                         "ratio_to_torch": round(result["gflops"] / torch_peak, 3), "blas": result["blas"]})
    header = f"{'framework':<12} {'threads':>7} {'n':>6} {'GFLOP/s':>9} {'x torch':>8}  blas"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['framework']:<12} {r['threads']:>7} {r['n']:>6} {r['gflops']:>9.1f} {r['ratio_to_torch']:>8.3f}  {r['blas']}")
    print("target: mlx-fast >= 0.8 x torch")
    _table.save(rows, args.out)


if __name__ == "__main__":
    main()
