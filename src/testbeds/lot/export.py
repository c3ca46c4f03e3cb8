"""Export a trained lot model to ONNX (``torch.onnx``) and check it with onnxruntime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from testbeds.lot.data import copy_reverse
from testbeds.lot.evaluate import load_trained
from testbeds.runio import read_json


def export_onnx(model: torch.nn.Module, example: torch.Tensor, out: Path) -> Path:
    model.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        (example,),
        str(out),
        input_names=["tokens"],
        output_names=["logits"],
        dynamic_axes={"tokens": {0: "batch"}, "logits": {0: "batch"}},
        dynamo=False,
    )
    return out


def onnx_logits(path: Path, tokens: np.ndarray) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"tokens": tokens.astype(np.int64)})[0]


def export_run(run_dir: Path, out: Path) -> float:
    """Export the run's final model; returns the largest |ONNX − PyTorch| logit difference on held-out data."""
    prov, summary = read_json(run_dir / "provenance.json"), read_json(run_dir / "train.json")
    model = load_trained(run_dir, prov, summary, "cpu")
    d = prov["config"]["data"]
    x, _ = copy_reverse(8, d["prefix_len"], d["vocab_size"], d["seed"] + 2)
    export_onnx(model, x, out)
    with torch.no_grad():
        expected = model(x).numpy()
    return float(np.abs(onnx_logits(out, x.numpy()) - expected).max())
