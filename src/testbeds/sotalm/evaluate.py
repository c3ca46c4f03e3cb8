"""Final evaluation of a sotalm run: loss and perplexity on the whole test split, and samples."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from testbeds.devices import resolve_torch
from testbeds.runio import atomic_write_json, final_checkpoint, read_json, write_final
from testbeds.sotalm.data import batch_at, chunks, load_tokens
from testbeds.sotalm.model import build_model


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


def evaluate(run_dir: Path, data_dir: Path) -> dict:
    run_dir = Path(run_dir)
    prov, summary = read_json(run_dir / "provenance.json"), read_json(run_dir / "train.json")
    run = prov["config"]
    splits, meta = load_tokens(data_dir)
    test_tokens = splits["test"]
    metrics: dict = {"best_val_loss_during_training": summary["best_val_loss"]}
    status, eval_seconds, samples = summary["status"], 0.0, []
    if status == "ok":
        device = resolve_torch(run["device"])
        torch.set_num_threads(run["threads"])
        model = build_model(run, meta["vocab_size"]).to(device)
        state = torch.load(
            final_checkpoint(run_dir, prov, summary) / "state.pt", map_location=device, weights_only=False
        )
        model.load_state_dict(state["model"])
        started = time.perf_counter()
        loss = mean_loss(model, test_tokens, run["model"]["seq_len"], run["train"]["batch"], device)
        eval_seconds = time.perf_counter() - started
        metrics.update(test_loss=loss, test_perplexity=math.exp(min(loss, 50.0)), test_tokens=int(len(test_tokens)))
        tokenizer = Tokenizer.from_file(str(Path(data_dir) / "tokenizer.json"))
        samples = continuations(model, tokenizer, run["eval"]["prompts"], run["eval"]["sampling"], run["seed"], device)
        if not math.isfinite(loss):
            status = "diverged"
    atomic_write_json(run_dir / "samples.json", samples)
    return write_final(
        run_dir,
        prov,
        summary,
        status=status,
        primary="test_loss",
        curve="val_loss",
        direction="min",
        metrics=metrics,
        trivial={"test_loss": math.log(meta["vocab_size"])},  # a uniform guess over the tokens
        data_source=meta["corpus"]["label"],
        throughput={"eval_tokens_per_second": metrics.get("test_tokens", 0) / eval_seconds if eval_seconds else None},
        parameters=summary["parameters"],
        samples=samples,
    )
