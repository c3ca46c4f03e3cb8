"""Final evaluation of a lot run: exact match on the held-out copy-reverse test set, on test sequences
``eval.length_factor`` times longer than trained (length extrapolation), and the oscillators' state."""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from testbeds.evaluation import Description, Evaluation, Scores
from testbeds.lot.data import exact_match, final_test_set, longer_test_set
from testbeds.lot.model import LatticeTransformer, build_model
from testbeds.runio import final_checkpoint
from testbeds.torch_loop import load_model, use_device


@torch.no_grad()
def evaluate_model(model: LatticeTransformer, data, batch: int, device: str) -> dict:
    """Exact match and cross-entropy on the scored positions, order parameter, attention entropy per head."""
    model.eval()
    x_all, y_all = data
    em, ce, count, tokens, entropy = 0.0, 0.0, 0, 0, None
    for i in range(0, len(x_all), batch):
        x, y = x_all[i : i + batch].to(device), y_all[i : i + batch].to(device)
        logits = model(x)
        em += exact_match(logits, y).sum().item()
        ce += F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=-100, reduction="sum").item()
        count, tokens = count + len(x), tokens + (y != -100).sum().item()
        layer_entropy = torch.stack([b.attn.last_entropy for b in model.blocks]) * len(x)
        entropy = layer_entropy if entropy is None else entropy + layer_entropy
    orders = model.sync_orders()
    model.train()
    return {
        "exact_match": em / count,
        "ce_loss": ce / tokens,
        "sync_order": float(torch.stack(orders).mean()) if orders else math.nan,
        "attention_entropy": (entropy / count).tolist(),
    }


def uniform_ce(run: dict) -> float:
    """The cross-entropy of a uniform guess over the tokens a reversed prefix can hold (3 .. vocab - 1)."""
    return math.log(run["data"]["vocab_size"] - 3)


def load_trained(run_dir: Path, prov: dict, summary: dict, device: str):
    """The model of a finished run directory, from its final checkpoint."""
    return load_model(build_model(prov["config"]), final_checkpoint(run_dir, prov, summary), device)


class LotEvaluation(Evaluation):
    """Cross-entropy and exact match on held-out sequences, and on sequences longer than trained."""

    def describe(self, run: dict, summary: dict, data_dir) -> Description:
        return Description(
            primary="test_ce",  # exact match jumps to its bound 1.0 once the task is learned; the CE keeps ranking
            curve="val_ce",
            data_source="copy-reverse (generated)",
            metrics={"best_val_ce_during_training": summary["best_val_ce"]},
            throughput="eval_sequences_per_second",
            units=run["data"]["n_val"],
            extra={
                "parameters": summary["parameters"],
                "attention": run["model"]["attention"],
                "lattice_shape": run["model"]["lattice_shape"],
                "head_phases": [],
            },
        )

    def score(self, run: dict, checkpoint: Path, data_dir) -> Scores:
        device = use_device(run)
        model = load_model(build_model(run), checkpoint, device)
        batch = run["train"]["eval_batch"]
        scores = evaluate_model(model, final_test_set(run), batch, device)
        metrics = {
            "test_exact_match": scores["exact_match"],
            "test_ce": scores["ce_loss"],
            "mean_sync_order": scores["sync_order"],
            "attention_entropy": scores["attention_entropy"],
        }
        if run["eval"]["length_factor"] > 1:
            longer = evaluate_model(model, longer_test_set(run), batch, device)
            metrics.update(longer_exact_match=longer["exact_match"], longer_ce=longer["ce_loss"])
        return Scores(
            metrics=metrics,
            trivial=dict.fromkeys(("test_ce", "longer_ce"), uniform_ce(run)),
            extra={"head_phases": model.head_phases()},
        )


evaluate = LotEvaluation()
