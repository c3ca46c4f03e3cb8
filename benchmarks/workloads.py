#!/usr/bin/env python
"""Training throughput and model-FLOPs utilisation of each workload, at the default-grid size and at a
"bench" size (d_model 256, where matmuls dominate), next to the framework's measured matmul peak.

Each measurement is a real run of scripts/train.py in its own process (the way the pipeline runs it), so
the job overhead (process start, imports, data, model build, compile, the evaluations at the first and last
step, checkpoints) is the process wall time minus the time spent in training steps.

    python benchmarks/workloads.py [--steps 40] [--threads 1] [--workloads charlm sotalm lot lds heat2d]

MFU = analytic FLOPs per token (6 N + 12 L d T, the usual dense-transformer count) x tokens/s / peak.
Writes results/benchmarks/workloads.csv.
"""

from __future__ import annotations

import argparse
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
import _table  # noqa: E402
import matmul  # noqa: E402

from testbeds import config as cfg  # noqa: E402

BENCH = {  # dotted overrides giving a matmul-dominated model of each workload
    "charlm": {"model.d_model": 256, "model.n_layer": 4, "model.n_head": 4, "model.ctx": 256,
               "train.batch": 8, "train.lmin": 256, "train.lmax": 256, "train.deterministic": True},
    "sotalm": {"model.d_model": 256, "model.n_layer": 4, "model.n_head": 4, "model.seq_len": 256,
               "train.batch": 8},
    "lot": {"model.d_model": 256, "model.n_layer": 4, "model.n_head": 8, "model.lattice_shape": [2, 4],
            "data.prefix_len": 64, "data.vocab_size": 256, "train.batch": 16},
    "lds": {"model.d_model": 256, "model.n_layer": 4, "model.n_head": 4, "data.seq_len": 256, "train.batch": 8},
    "heat2d": {"model.dim": 256, "model.layers": 4, "model.heads": 4, "model.mlp": 1024, "data.nx": 16,
               "data.ny": 16, "model.patch": 4},  # 16 patches x 16 frames = 256 tokens
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
    lookups = {"sotalm": vocab * width, "heat2d": 0, "lds": 0}.get(run["workload"], (vocab + sequence_length(run)) * width)
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
    if run["workload"] in cfg.DATA_GENERATORS:
        cfg.write_generated_data(run["workload"], run["data"], scratch / "data")
        return str(scratch / "data")
    if "source" not in run["data"]:
        return ""
    from testbeds.data.corpus import slice_corpus

    d = run["data"]
    slice_corpus(d["source"], d["path"], d["sha256"], d["max_chars"], d["val_frac"], scratch / "data")
    if "tokenizer" not in run:
        return str(scratch / "data")
    from testbeds.sotalm.tokens import tokenize, train_tokenizer

    train_tokenizer(scratch / "data" / "train.txt", run["tokenizer"]["vocab_size"], scratch / "bpe" / "tokenizer.json")
    tokenize(scratch / "bpe" / "tokenizer.json", scratch / "data", scratch / "bpe")
    return str(scratch / "bpe")


def measure(run: dict, data: str, out: Path) -> dict:
    started = time.perf_counter()
    subprocess.run([sys.executable, str(REPO / "scripts" / "train.py"), "--run-json", json.dumps(run),
                    "--data", data, "--out", str(out)], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    summary = json.loads((out / "train.json").read_text())
    return {"wall": wall, **summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workloads", nargs="+", default=["charlm", "sotalm", "lot", "lds", "heat2d"])
    parser.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks" / "workloads.csv")
    args = parser.parse_args()
    config = cfg.load_config([cfg.DEFAULT_CONFIG])
    peaks = {fw: matmul.measure(kind, 1024, args.threads, 5)["gflops"] for fw, kind in PEAK_KIND.items()}
    rows = []
    for workload in args.workloads:
        entry = config["workloads"][workload]
        variant = next(iter(entry["variants"]))
        optimizer = entry.get("baseline") or entry["optimizers"][0]
        for size, overrides in (("default", {}), ("bench", BENCH[workload])):
            run = cfg.resolve_run(config, workload, variant, optimizer, 0)
            for key, value in overrides.items():
                cfg.set_dotted(run, key, value)
            for key, value in steps_settings(run, args.steps).items():
                cfg.set_dotted(run, key, value)
            run["threads"] = args.threads
            with tempfile.TemporaryDirectory() as scratch:
                data = prepare_data(run, Path(scratch))
                result = measure(run, data, Path(scratch) / "run")
                vocab = json.loads((Path(scratch) / "run" / "provenance.json").read_text())["data"]
            vocab_size = (vocab or {}).get("vocab_size") or run["data"].get("vocab_size") or 0
            tokens_per_second = result["tokens_per_second"]
            flops = flops_per_token(run, result["parameters"], vocab_size)
            peak = peaks[entry["framework"]]
            rows.append({
                "workload": workload, "framework": entry["framework"], "size": size, "optimizer": optimizer,
                "parameters": result["parameters"], "seq_len": sequence_length(run),
                "tokens_per_second": round(tokens_per_second), "gflops_per_second": round(flops * tokens_per_second / 1e9, 1),
                "peak_gflops": round(peak, 1), "mfu": round(flops * tokens_per_second / 1e9 / peak, 3),
                "job_wall_seconds": round(result["wall"], 2),
                "overhead_seconds": round(result["wall"] - result["train_seconds"], 2),
                "overhead_share": round(1 - result["train_seconds"] / result["wall"], 3),
            })
            print(f"{workload:<8} {size:<8} {rows[-1]['tokens_per_second']:>9,} tok/s  "
                  f"{rows[-1]['gflops_per_second']:>7.1f} GFLOP/s  MFU {rows[-1]['mfu']:.3f}  "
                  f"overhead {rows[-1]['overhead_seconds']:.1f} s of {rows[-1]['job_wall_seconds']:.1f} s", flush=True)
    print(f"matmul peaks (1024², {args.threads} thread(s)): " + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in peaks.items()))
    print("targets: MFU >= 0.40 (charlm, sotalm, heat2d) / 0.25 (lds, lot) at bench size; overhead <= 15% of a default job")
    _table.save(rows, args.out)


if __name__ == "__main__":
    main()
