"""Test MSE of the final checkpoint."""

from pathlib import Path

import torch
from testbeds.runio import final_checkpoint, read_json, write_final

from toy.data import final_samples
from toy.model import build_model, mse


def evaluate(run_dir: Path, data_dir) -> dict:
    prov, summary = read_json(run_dir / "provenance.json"), read_json(run_dir / "train.json")
    run = prov["config"]
    model = build_model(run)
    model.load_state_dict(torch.load(final_checkpoint(run_dir, prov, summary) / "state.pt")["model"])
    x, y = final_samples(run)
    with torch.no_grad():
        value = mse(model, x, y).item()
    return write_final(
        run_dir,
        prov,
        summary,
        status=summary["status"],
        primary="test_mse",
        curve="val_loss",
        direction="min",
        metrics={"test_mse": value},
        throughput={},
        data_source="toy regression (generated)",
    )
