#!/usr/bin/env python
"""Training throughput and model-FLOPs utilisation of each workload, at the default-grid size and at a
"bench" size (d_model 256, where matmuls dominate), next to the framework's measured matmul peak.

Each measurement is a real run of scripts/train.py in its own process, the way the pipeline runs it. The
default size is the default grid's own job (all its steps, evaluations and checkpoints), run twice with a
fresh JAX compilation cache: the first job of a grid compiles, later ones load. Start-up overhead = time
from launching the process until its first step finished, minus one steady step (process start, imports,
data, model build, compilation), as a share of the job's wall time. Speed options are measured both ways:
torch.compile (sotalm) and MLX CPU math (charlm, ``speedups: [mlx_cpu_math]``).

    python benchmarks/workloads.py [--steps 40] [--default-steps N] [--threads 1] [--workloads charlm ...]

MFU = analytic FLOPs per token (6 N + 12 L d T, the usual dense-transformer count) x steady-state
tokens/s / peak. The machine's speed drifts (a 1-thread matmul peak moved 156 -> 195 GFLOP/s between runs
minutes apart), so each run's peak is measured just before it.
Writes results/benchmarks/workloads.csv.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))
import matmul  # noqa: E402

from testbeds import config as cfg  # noqa: E402
from testbeds.workloads import workload as workload_spec  # noqa: E402

import _table  # noqa: E402

BENCH = {  # dotted overrides giving a matmul-dominated model of each workload
    "charlm": {
        "model.d_model": 256,
        "model.n_layer": 4,
        "model.n_head": 4,
        "model.ctx": 256,
        "train.batch": 8,
        "train.lmin": 256,
        "train.lmax": 256,
        "train.deterministic": True,
    },
    "sotalm": {"model.d_model": 256, "model.n_layer": 4, "model.n_head": 4, "model.seq_len": 256, "train.batch": 8},
    "lot": {
        "model.d_model": 256,
        "model.n_layer": 4,
        "model.n_head": 8,
        "model.lattice_shape": [2, 4],
        "data.prefix_len": 64,
        "data.vocab_size": 256,
        "train.batch": 16,
    },
    "lds": {"model.d_model": 256, "model.n_layer": 4, "model.n_head": 4, "data.seq_len": 256, "train.batch": 8},
    "heat2d": {
        "model.dim": 256,
        "model.layers": 4,
        "model.heads": 4,
        "model.mlp": 1024,
        "data.nx": 16,
        "data.ny": 16,
        "model.patch": 4,
    },  # 16 patches x 16 frames = 256 tokens
}
PEAK_KIND = {"mlx": "mlx-fast", "torch": "torch", "jax": "jax"}


def sequence_length(run: dict) -> int:
    """Tokens per sequence (heat2d: frames x patches)."""
    model, data = run["model"], run["data"]
    if run["workload"] == "heat2d":
        return data["frames"] * (data["nx"] // model["patch"]) * (data["ny"] // model["patch"])
    if run["workload"] == "lds":
        return data["seq_len"] // model["patch_size"]
    return model.get("ctx") or model.get("seq_len") or 2 * data["prefix_len"]


def flops_per_token(run: dict, parameters: int, vocab: int) -> float:
    """Lookup tables (token embedding, learned positions) do no matmul work; the output head does."""
    m = run["model"]
    width, layers = m.get("d_model") or m["dim"], m.get("n_layer") or m["layers"]
    lookups = {"sotalm": vocab * width, "heat2d": 0, "lds": 0}.get(
        run["workload"], (vocab + sequence_length(run)) * width
    )
    return 6 * (parameters - lookups) + 12 * layers * width * sequence_length(run)


def steps_settings(run: dict, steps: int) -> dict:
    """Dotted overrides for about ``steps`` training steps, evaluated and checkpointed once at the end."""
    if run["workload"] == "heat2d":  # counted in epochs of the training split
        from testbeds.heat2d.data import split_sizes

        per_epoch = split_sizes(run["data"]["samples"], run["data"]["split"])["train"] // run["train"]["batch"]
        steps = max(1, round(steps / per_epoch)) * per_epoch
        length = {"train.epochs": steps // per_epoch}
    else:
        length = {"train.steps": steps}
    if run["workload"] == "lds":  # its cosine schedule needs the warm-up to end before the last step
        length["train.warmup_steps"] = min(run["train"]["warmup_steps"], steps // 2)
    return {**length, "train.eval_every": steps, "train.log_every": steps, "train.checkpoint_every": steps}


def prepare_data(run: dict, scratch: Path) -> str:
    if workload_spec(run["workload"]).data == "generated":
        cfg.write_generated_data(run["workload"], run["data"], scratch / "data")
        return str(scratch / "data")
    if "source" not in run["data"]:
        return ""
    from testbeds.data.corpus import slice_corpus

    d = run["data"]
    slice_corpus(d["source"], d["path"], d["sha256"], d["max_chars"], d["val_frac"], d["test_frac"], scratch / "data")
    if "tokenizer" not in run:
        return str(scratch / "data")
    from testbeds.data.tokens import tokenize, train_tokenizer

    train_tokenizer(scratch / "data" / "train.txt", run["tokenizer"]["vocab_size"], scratch / "bpe" / "tokenizer.json")
    tokenize(scratch / "bpe" / "tokenizer.json", scratch / "data", scratch / "bpe")
    return str(scratch / "bpe")


def measure(run: dict, data: str, out: Path, env: dict | None = None) -> dict:
    """Run scripts/train.py in a fresh process; steady-state tokens/s and start-up overhead from train.json.

    Overhead = time from launching the process until its first step finished, minus one steady step:
    process start, imports, data, model build and the first step's compilation."""
    launched = time.time()
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "train.py"),
            "--run-json",
            json.dumps(run),
            "--data",
            data,
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    wall = time.perf_counter() - started
    summary = json.loads((out / "train.json").read_text())
    first = summary["first_step"]
    steady_step = (summary["train_seconds"] - first["seconds"]) / max(summary["steps"] - 1, 1)
    return {
        "wall": wall,
        "tokens_per_second": summary["tokens"] / summary["steps"] / steady_step,
        "overhead": first["finished_at"] - launched - steady_step,
        "parameters": summary["parameters"],
    }


# Speed options measured both ways: torch.compile (sotalm), MLX CPU math instead of MLX's own (charlm)
SPEED_OPTIONS = {
    "sotalm": {"+compile": {"model.compile": True}},
    "charlm": {"+mlx_cpu_math": {"speedups": ["blas", "malloc", "mlx_cpu_math"]}},
}


def configured_run(config: dict, workload: str, size: str, steps: int, threads: int, option: str) -> dict:
    entry = config["workloads"][workload]
    run = cfg.resolve_run(
        config, workload, next(iter(entry["variants"])), entry.get("baseline") or entry["optimizers"][0], 0
    )
    for key, value in (BENCH[workload] if size == "bench" else {}).items():
        cfg.set_dotted(run, key, value)
    if size == "bench" or steps:
        for key, value in steps_settings(run, steps or 40).items():
            cfg.set_dotted(run, key, value)
    for key, value in SPEED_OPTIONS.get(workload, {}).get(option, {}).items():
        cfg.set_dotted(run, key, value)
    run["threads"] = threads
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40, help="training steps of the bench-size runs")
    parser.add_argument(
        "--default-steps",
        type=int,
        default=0,
        help="cap the default-size jobs at this many steps (0: the default grid's own job)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workloads", nargs="+", default=["charlm", "sotalm", "lot", "lds", "heat2d"])
    parser.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks" / "workloads.csv")
    args = parser.parse_args()
    config = cfg.load_config([cfg.DEFAULT_CONFIG])
    rows = []
    for workload in args.workloads:
        entry = config["workloads"][workload]
        options = ["", *SPEED_OPTIONS.get(workload, {})]
        for size, option in ((size, option) for size in ("default", "bench") for option in options):
            run = configured_run(
                config, workload, size, args.steps if size == "bench" else args.default_steps, args.threads, option
            )
            with tempfile.TemporaryDirectory() as scratch:
                with contextlib.redirect_stdout(io.StringIO()):
                    data = prepare_data(run, Path(scratch))
                cache = {"TESTBEDS_JAX_CACHE": str(Path(scratch) / "jax-cache")}  # empty: as on a fresh machine
                peak = matmul.measure(PEAK_KIND[entry["framework"]], 1024, args.threads, 5)["gflops"]
                first = measure(run, data, Path(scratch) / "first", cache)
                result = measure(run, data, Path(scratch) / "run", cache) if size == "default" else first
                vocab = json.loads((Path(scratch) / "first" / "provenance.json").read_text())["data"]
            vocab_size = (vocab or {}).get("vocab_size") or run["data"].get("vocab_size") or 0
            flops = flops_per_token(run, result["parameters"], vocab_size) * result["tokens_per_second"]
            rows.append(
                {
                    "workload": workload,
                    "framework": entry["framework"],
                    "size": size + option,
                    "parameters": result["parameters"],
                    "seq_len": sequence_length(run),
                    "tokens_per_second": round(result["tokens_per_second"]),
                    "gflops_per_second": round(flops / 1e9, 1),
                    "peak_gflops": round(peak, 1),
                    "mfu": round(flops / 1e9 / peak, 3),
                    "job_wall_seconds": round(result["wall"], 2),
                    "overhead_first_job_seconds": round(first["overhead"], 2),
                    "overhead_seconds": round(result["overhead"], 2),
                    "overhead_share": round(result["overhead"] / result["wall"], 3),
                }
            )
            r = rows[-1]
            print(
                f"{workload:<8} {r['size']:<15} {r['tokens_per_second']:>9,} tok/s  {r['gflops_per_second']:>7.1f} "
                f"GFLOP/s  MFU {r['mfu']:.3f} (peak {r['peak_gflops']:.0f})  job {r['job_wall_seconds']:6.1f} s, "
                f"start-up {r['overhead_seconds']:.1f} s "
                f"({r['overhead_share']:.0%}; first job of a grid {r['overhead_first_job_seconds']:.1f} s)",
                flush=True,
            )
    print(
        f"peak: the framework's fp32 matmul (1024² on a CPU, {args.threads} thread(s)), measured just before each run"
    )
    print(
        "targets: MFU >= 0.40 (charlm, sotalm, heat2d) / 0.25 (lds, lot) at bench size; "
        "start-up <= 15% of a default-grid job"
    )
    _table.save(rows, args.out)


if __name__ == "__main__":
    main()
