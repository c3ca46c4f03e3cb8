#!/usr/bin/env python
"""Matmul peak per framework on this machine: MLX (bundled BLAS), MLX (optimised BLAS), torch, JAX (XLA).

Each measurement runs in its own process (the BLAS is chosen at process start), on the device the
workloads' jobs use (`device: auto`: torch on CUDA and JAX on its default backend when there is a GPU, MLX
on Metal on Apple silicon), with n raised to ACCELERATOR_N there (a 1024² matmul cannot fill a GPU).
Prints one table with GFLOP/s and the ratio to torch, and writes it to results/benchmarks/matmul.csv.

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


ACCELERATOR_N = 8192


def worker(framework: str, n: int, repeats: int, threads: int) -> dict:
    if framework == "torch":
        import torch

        if torch.cuda.is_available():
            n, device, sync = max(n, ACCELERATOR_N), "cuda", lambda r: torch.cuda.synchronize()
            blas = "cuda: " + torch.cuda.get_device_name()
        else:
            device, sync = "cpu", lambda r: r
            blas = "torch bundled (" + torch.__config__.show().split("BLAS_INFO=")[-1].split(",")[0] + ")"
        a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
        with torch.no_grad():
            return {"gflops": gflops(lambda: a @ b, sync, n, repeats), "blas": blas, "n": n}
    if framework == "jax":
        import jax

        from testbeds.devices import resolve_jax

        device = resolve_jax("auto", threads)  # as a job: XLA's CPU thread pool sized to its threads
        if device != "cpu":
            n = max(n, ACCELERATOR_N)
        a = jax.random.normal(jax.random.PRNGKey(0), (n, n))
        matmul = jax.jit(lambda x: x @ x)
        blas = "XLA (Eigen)" if device == "cpu" else f"XLA ({device})"
        return {"gflops": gflops(lambda: matmul(a), lambda r: r.block_until_ready(), n, repeats), "blas": blas, "n": n}
    import mlx.core as mx

    on_cpu = mx.default_device().type == mx.cpu
    if not on_cpu:
        n = max(n, ACCELERATOR_N)
    a, b = mx.random.normal((n, n)), mx.random.normal((n, n))
    mx.eval(a, b)
    blas = os.environ.get("TESTBEDS_BLAS", "mlx bundled") if on_cpu else "mlx metal"
    return {"gflops": gflops(lambda: a @ b, mx.eval, n, repeats), "blas": blas, "n": n}


def measure(kind: str, n: int, threads: int, repeats: int) -> dict:
    from testbeds.speedups.blas import find_fast_blas, thread_env

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
    code = (
        f"import sys; sys.path.insert(0, {str(REPO / 'benchmarks')!r}); import matmul, json;"
        f"import os; os.environ.get('TORCH_NUM_THREADS') and __import__('torch').set_num_threads({threads});"
        f"print(json.dumps(matmul.worker({framework!r}, {n}, {repeats}, {threads})))"
    )
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
        results = {
            kind: measure(kind, args.n, threads, args.repeats) for kind in ("mlx-bundled", "mlx-fast", "torch", "jax")
        }
        torch_peak = results["torch"]["gflops"]
        for kind, result in results.items():
            rows.append(
                {
                    "framework": kind,
                    "threads": threads,
                    "n": result.get("n", args.n),
                    "gflops": round(result["gflops"], 1),
                    "ratio_to_torch": round(result["gflops"] / torch_peak, 3),
                    "blas": result["blas"],
                }
            )
    header = f"{'framework':<12} {'threads':>7} {'n':>6} {'GFLOP/s':>9} {'x torch':>8}  blas"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['framework']:<12} {r['threads']:>7} {r['n']:>6} {r['gflops']:>9.1f} {r['ratio_to_torch']:>8.3f}  {r['blas']}"
        )
    print("target: mlx-fast >= 0.8 x torch")
    _table.save(rows, args.out)


if __name__ == "__main__":
    main()
