"""The sotalm data: the token arrays of the tokenized corpus (testbeds.data.tokens), cut into chunks."""

from __future__ import annotations

import numpy as np
import torch

from testbeds.data.tokens import load_tokens

__all__ = ["load_tokens", "chunks", "batch_at"]


def chunks(tokens: np.ndarray, seq_len: int) -> np.ndarray:
    """Start offsets of the non-overlapping (seq_len + 1)-token chunks of a stream."""
    return np.arange(0, len(tokens) - seq_len - 1 + 1, seq_len + 1)


def batch_at(tokens: np.ndarray, starts: np.ndarray, seq_len: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    windows = torch.from_numpy(tokens[starts[:, None] + np.arange(seq_len + 1)].astype(np.int64)).to(device)
    return windows[:, :-1], windows[:, 1:]
