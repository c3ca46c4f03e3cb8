"""Final evaluation of a sotalm run: loss and perplexity on the whole test split, and samples."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from testbeds.evaluation import Description, Evaluation, Scores
from testbeds.sotalm.data import batch_at, chunks, load_tokens
from testbeds.sotalm.model import build_model
from testbeds.torch_loop import load_model, use_device


def mean_loss(
    model, tokens: np.ndarray, seq_len: int, batch: int, device: str, max_batches: int | None = None
) -> float:
    """Mean token cross-entropy over the stream's chunks (the first ``max_batches`` batches if given)."""
    model.eval()
    starts = chunks(tokens, seq_len)
    if max_batches is not None:
        starts = starts[: max_batches * batch]
    total, count = 0.0, 0
    for i in range(0, len(starts), batch):
        x, y = batch_at(tokens, starts[i : i + batch], seq_len, device)
        total += F.cross_entropy(model(x).flatten(0, 1), y.flatten(), reduction="sum").item()
        count += y.numel()
    model.train()
    return total / count


def continuations(
    model, tokenizer: Tokenizer, prompts: list[str], settings: dict, seed: int, device: str
) -> list[dict]:
    """Sampled continuations of fixed prompts (seeded, so they are part of the reproducible record)."""
    generator = torch.Generator(device=device).manual_seed(seed)
    out = []
    model.eval()
    for prompt in prompts:
        ids = torch.tensor([tokenizer.encode(prompt).ids], device=device)
        tokens = model.generate(
            ids,
            settings["max_new_tokens"],
            settings["temperature"],
            settings["top_k"],
            settings["top_p"],
            generator=generator,
        )
        out.append({"prompt": prompt, "continuation": tokenizer.decode(tokens[0, ids.shape[1] :].tolist())})
    return out


class SotalmEvaluation(Evaluation):
    """Token cross-entropy on the whole test split, and sampled continuations of the configured prompts."""

    def describe(self, run: dict, summary: dict, data_dir: Path) -> Description:
        splits, meta = load_tokens(data_dir)
        return Description(
            primary="test_loss",
            curve="val_loss",
            data_source=meta["corpus"]["label"],
            metrics={"best_val_loss_during_training": summary["best_val_loss"]},
            files={"samples.json": []},
            throughput="eval_tokens_per_second",
            units=len(splits["test"]),
            extra={"parameters": summary["parameters"]},
        )

    def score(self, run: dict, checkpoint: Path, data_dir: Path) -> Scores:
        splits, meta = load_tokens(data_dir)
        device = use_device(run)
        model = load_model(build_model(run, meta["vocab_size"]), checkpoint, device)
        test_tokens = splits["test"]
        loss = mean_loss(model, test_tokens, run["model"]["seq_len"], run["train"]["batch"], device)
        tokenizer = Tokenizer.from_file(str(Path(data_dir) / "tokenizer.json"))
        samples = continuations(model, tokenizer, run["eval"]["prompts"], run["eval"]["sampling"], run["seed"], device)
        return Scores(
            metrics={
                "test_loss": loss,
                "test_perplexity": math.exp(min(loss, 50.0)),
                "test_tokens": int(len(test_tokens)),
            },
            files={"samples.json": samples},
            trivial={"test_loss": math.log(meta["vocab_size"])},  # a uniform guess over the tokens
            extra={"samples": samples},
        )


evaluate = SotalmEvaluation()
