"""Tokenizer and token arrays of a ``tokenized`` workload (``tokenizers`` + numpy, no framework).

A byte-level BPE tokenizer is trained on the training split only, then both splits are written as
flat memory-mappable uint16/uint32 arrays (``train.bin``, ``val.bin``, ``test.bin``) with a ``meta.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from testbeds.runio import atomic_write_bytes, atomic_write_json, sha256_file

END_OF_TEXT = "<|endoftext|>"


SPLITS = ("train", "val", "test")


def train_tokenizer(train_txt: Path, vocab_size: int, out: Path) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[END_OF_TEXT],
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train([str(train_txt)], trainer)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, tokenizer.to_str(pretty=True).encode())
    return tokenizer


def encode_file(tokenizer: Tokenizer, path: Path, chunk_chars: int = 1 << 20) -> np.ndarray:
    """Token ids of a text file, encoded in line-aligned chunks (memory stays bounded)."""
    text = Path(path).read_text(encoding="utf-8")
    pieces, start = [], 0
    while start < len(text):
        end = min(len(text), start + chunk_chars)
        cut = text.rfind("\n", start, end) + 1 if end < len(text) else end
        cut = cut if cut > start else end
        pieces.append(np.asarray(tokenizer.encode(text[start:cut]).ids, dtype=np.int64))
        start = cut
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)


def tokenize(tokenizer_json: Path, data_dir: Path, out_dir: Path) -> dict:
    """Write train.bin / val.bin / test.bin / meta.json (last) for the corpus in ``data_dir``."""
    tokenizer = Tokenizer.from_file(str(tokenizer_json))
    vocab = tokenizer.get_vocab_size()
    dtype = np.uint16 if vocab <= np.iinfo(np.uint16).max + 1 else np.uint32
    counts = {}
    for split in SPLITS:
        ids = encode_file(tokenizer, data_dir / f"{split}.txt").astype(dtype)
        atomic_write_bytes(out_dir / f"{split}.bin", ids.tobytes())
        counts[split] = len(ids)
    corpus = json.loads((data_dir / "manifest.json").read_text())
    meta = {
        "vocab_size": vocab,
        "dtype": np.dtype(dtype).name,
        "n_train_tokens": counts["train"],
        "n_val_tokens": counts["val"],
        "n_test_tokens": counts["test"],
        "tokenizer_sha256": sha256_file(tokenizer_json),
        "train_sha256": sha256_file(out_dir / "train.bin"),
        "val_sha256": sha256_file(out_dir / "val.bin"),
        "test_sha256": sha256_file(out_dir / "test.bin"),
        "corpus": corpus,
    }
    atomic_write_json(out_dir / "meta.json", meta)
    return meta


def load_tokens(token_dir: Path) -> tuple[dict[str, np.memmap], dict]:
    """{split: token array} of train, val and test, and the meta record."""
    meta = json.loads((Path(token_dir) / "meta.json").read_text())
    arrays = {split: np.memmap(Path(token_dir) / f"{split}.bin", dtype=meta["dtype"], mode="r") for split in SPLITS}
    return arrays, meta
