"""The lot task: copy-reverse sequences, the run's model, and its evaluation (no Lightning needed).

Copy-reverse: a prefix of L tokens, the delimiter, then the prefix reversed.

Tokens: 0 = pad, 2 = delimiter, prefix tokens uniform in [3, vocab). The model sees seq[:-1] and predicts
seq[1:]; only the predictions of the reversed half count (targets elsewhere are -100), so the task
cannot be solved by copying the next visible token. Train and validation sets come from different seeds.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from testbeds.lot.model import LatticeTransformer

DELIMITER = 2
IGNORE = -100


def copy_reverse(n: int, prefix_len: int, vocab_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets), each of shape (n, 2 * prefix_len)."""
    rng = np.random.default_rng(seed)
    prefix = rng.integers(3, vocab_size, size=(n, prefix_len))
    seq = np.concatenate([prefix, np.full((n, 1), DELIMITER), prefix[:, ::-1]], axis=1)
    inputs, targets = seq[:, :-1].copy(), seq[:, 1:].copy()
    targets[:, :prefix_len] = IGNORE  # only the positions that emit the reversed prefix are scored
    return torch.from_numpy(inputs), torch.from_numpy(targets)


def scored(targets: torch.Tensor) -> torch.Tensor:
    return targets != IGNORE


def exact_match(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per sequence: 1 if every scored position is predicted right."""
    right = (logits.argmax(-1) == targets) | ~scored(targets)
    return right.all(-1).float()


def build_model(run: dict) -> LatticeTransformer:
    torch.manual_seed(run["seed"])
    m, d = run["model"], run["data"]
    lattice = (
        {
            k: m[k]
            for k in ("lattice_shape", "kuramoto_steps", "dt", "init_freq_range", "coupling_init", "amplitude_init")
        }
        if m["attention"] == "lattice"
        else {}
    )
    return LatticeTransformer(
        d["vocab_size"],
        2 * d["prefix_len"],
        m["d_model"],
        m["n_head"],
        m["n_layer"],
        m["dropout"],
        m["attention"],
        lattice,
    )


def datasets(run: dict) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    d = run["data"]
    train = copy_reverse(d["n_train"], d["prefix_len"], d["vocab_size"], d["seed"])
    val = copy_reverse(d["n_val"], d["prefix_len"], d["vocab_size"], d["seed"] + 1)  # held out: another seed
    return train, val


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
