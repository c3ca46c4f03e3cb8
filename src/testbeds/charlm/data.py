"""Character data for Testbed D (numpy only): vocabulary, variable-length batches, eval sets.

Sequence length per step: L = draw from default_rng(seed + 17) in [lmin, lmax],
rounded up to a multiple of ``len_bucket`` and capped at ctx (``deterministic``: a
constant L). Batch starts: default_rng(seed + 23), uniform in [0, N_train - L - 1].
Both generators' states are part of the checkpoint, so a resumed run draws the
same batches as one that was never interrupted.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np


class CharCorpus:
    """train/val/test text of a sliced corpus, encoded over the sorted characters of all three."""

    def __init__(self, data_dir: str | Path):
        data_dir = Path(data_dir)
        train = (data_dir / "train.txt").read_text(encoding="utf-8")
        val = (data_dir / "val.txt").read_text(encoding="utf-8")
        test = (data_dir / "test.txt").read_text(encoding="utf-8")
        self.manifest = json.loads((data_dir / "manifest.json").read_text())
        self.chars = sorted(set(train + val + test))
        lookup = np.zeros(max(map(ord, self.chars)) + 1, dtype=np.int32)
        lookup[[ord(c) for c in self.chars]] = np.arange(len(self.chars), dtype=np.int32)
        self.train = lookup[np.frombuffer(train.encode("utf-32-le"), dtype=np.uint32)]
        self.val = lookup[np.frombuffer(val.encode("utf-32-le"), dtype=np.uint32)]
        self.test = lookup[np.frombuffer(test.encode("utf-32-le"), dtype=np.uint32)]

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    @property
    def bits(self) -> str:
        """``bpb`` (bits per byte) for a byte-level corpus, ``bpc`` (bits per character) otherwise."""
        return "bpb" if self.manifest.get("unit") == "byte" else "bpc"

    @property
    def bits_metric(self) -> str:
        """The validation metric: ``val_bpb`` or ``val_bpc``."""
        return f"val_{self.bits}"


def round_length(length: int, len_bucket: int, ctx: int) -> int:
    return min(ctx, int(math.ceil(length / len_bucket) * len_bucket))


class BatchSampler:
    """Draws (inputs, targets) windows of the training ids, one length per step."""

    def __init__(
        self,
        tokens: np.ndarray,
        batch: int,
        lmin: int,
        lmax: int,
        len_bucket: int,
        ctx: int,
        deterministic: bool,
        seed: int,
    ):
        self.tokens, self.batch = tokens, batch
        self.lmin, self.lmax, self.len_bucket, self.ctx = lmin, lmax, len_bucket, ctx
        self.deterministic = deterministic
        self.length_rng = np.random.default_rng(seed + 17)
        self.start_rng = np.random.default_rng(seed + 23)
        if len(tokens) < self.max_length() + 2:
            raise ValueError(
                f"training text of {len(tokens)} characters is shorter than a window of {self.max_length()}"
            )

    def max_length(self) -> int:
        return round_length(self.lmax, self.len_bucket, self.ctx)

    def next_length(self) -> int:
        if self.deterministic:
            return self.max_length()
        return round_length(int(self.length_rng.integers(self.lmin, self.lmax + 1)), self.len_bucket, self.ctx)

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        length = self.next_length()
        starts = self.start_rng.integers(0, len(self.tokens) - length - 1, size=self.batch)
        windows = self.tokens[starts[:, None] + np.arange(length + 1)]
        return windows[:, :-1], windows[:, 1:]

    def state(self) -> dict:
        return {"length_rng": self.length_rng.bit_generator.state, "start_rng": self.start_rng.bit_generator.state}

    def restore(self, state: dict) -> None:
        self.length_rng.bit_generator.state = state["length_rng"]
        self.start_rng.bit_generator.state = state["start_rng"]


def fixed_eval_batch(tokens: np.ndarray, n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The frozen held-out batch evaluated during training (``fixed_eval_seed``)."""
    length = min(length, len(tokens) - 1)
    starts = np.random.default_rng(seed).integers(0, len(tokens) - length, size=n)
    windows = tokens[starts[:, None] + np.arange(length + 1)]
    return windows[:, :-1], windows[:, 1:]


def validation_windows(tokens: np.ndarray, length: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The whole split as consecutive windows: every character after the first is predicted once."""
    pairs = []
    for start in range(0, len(tokens) - 1, length):
        chunk = tokens[start : start + length + 1]
        pairs.append((chunk[:-1], chunk[1:]))
    return pairs
