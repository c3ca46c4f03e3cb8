"""Final evaluation of a lot run: exact match on the held-out copy-reverse set, and the oscillators' state."""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch

from testbeds.devices import resolve_torch
from testbeds.lot.train import build_model, datasets, evaluate_model
from testbeds.runio import Checkpoints, atomic_write_json, read_json


def load_trained(run_dir: Path, prov: dict, steps: int, device: str):
    found = Checkpoints(run_dir).latest(prov["config_hash"])
    if found is None or found[1]["step"] != steps:
        raise RuntimeError(f"{run_dir}: no valid checkpoint of the final step {steps}")
    state = torch.load(found[0] / "trainer.ckpt", map_location=device, weights_only=False)["state_dict"]
    model = build_model(prov["config"]).to(device)
    model.load_state_dict({k.removeprefix("model."): v for k, v in state.items()})
    return model.eval()


def evaluate(run_dir: Path, data_dir: Path | None = None) -> dict:
    run_dir = Path(run_dir)
    prov, summary = read_json(run_dir / "provenance.json"), read_json(run_dir / "train.json")
    run = prov["config"]
    metrics: dict = {"best_val_exact_match_during_training": summary["best_val_exact_match"]}
    status, eval_seconds, phases = summary["status"], 0.0, []
    if status == "ok":
        device = resolve_torch(run["device"])
        torch.set_num_threads(run["threads"])
        model = load_trained(run_dir, prov, summary["steps"], device)
        started = time.perf_counter()
        scores = evaluate_model(model, datasets(run)[1], run["train"]["eval_batch"], device)
        eval_seconds = time.perf_counter() - started
        metrics.update(exact_match=scores["exact_match"], ce_loss=scores["ce_loss"],
                       mean_sync_order=scores["sync_order"], attention_entropy=scores["attention_entropy"])
        phases = model.head_phases()
        if not math.isfinite(scores["ce_loss"]):
            status = "diverged"
    final = {
        "status": status, "workload": run["workload"], "variant": run["variant"],
        "optimizer": run["optimizer"]["label"], "seed": run["seed"],
        "primary_metric": "exact_match", "curve_metric": "val_exact_match", "direction": "max",
        "primary_value": metrics.get("exact_match", float("nan")) if status == "ok" else float("nan"),
        "metrics": metrics, "steps": summary["steps"], "stop_reason": summary["stop_reason"],
        "wall_seconds": summary["wall_seconds"],
        "throughput": {"train_tokens_per_second": summary["tokens_per_second"],
                       "eval_sequences_per_second": run["data"]["n_val"] / eval_seconds if eval_seconds else None},
        "device": summary["device"], "data_source": "copy-reverse (generated)", "config_hash": prov["config_hash"],
        "parameters": summary["parameters"], "attention": run["model"]["attention"],
        "lattice_shape": run["model"]["lattice_shape"], "head_phases": phases,
    }
    atomic_write_json(run_dir / "final.json", final)
    return final
