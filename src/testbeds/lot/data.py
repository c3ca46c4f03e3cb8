"""The lot data: copy-reverse sequences, made in the job (no Lightning needed).

Copy-reverse: a prefix of L tokens, the delimiter, then the prefix reversed.

Tokens: 0 = pad, 2 = delimiter, prefix tokens uniform in [3, vocab). The model sees seq[:-1] and predicts
seq[1:]; only the predictions of the reversed half count (targets elsewhere are -100), so the task
cannot be solved by copying the next visible token. Train, validation and test sets come from different
seeds (data.seed, + 1, + 2); the test set has as many sequences as the validation set.
"""

from __future__ import annotations

import numpy as np
import torch

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


def datasets(run: dict) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    d = run["data"]
    train = copy_reverse(d["n_train"], d["prefix_len"], d["vocab_size"], d["seed"])
    val = copy_reverse(d["n_val"], d["prefix_len"], d["vocab_size"], d["seed"] + 1)  # held out: another seed
    return train, val


def final_test_set(run: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The held-out test sequences: the final evaluation's, never seen by training or tuning."""
    d = run["data"]
    return copy_reverse(d["n_val"], d["prefix_len"], d["vocab_size"], d["seed"] + 2)


def longer_test_set(run: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Test sequences ``eval.length_factor`` times longer than the trained ones (length extrapolation)."""
    d = run["data"]
    return copy_reverse(d["n_val"], d["prefix_len"] * run["eval"]["length_factor"], d["vocab_size"], d["seed"] + 3)
