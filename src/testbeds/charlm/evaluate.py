"""Final evaluation of a charlm run: bits per character (or byte) on the whole test split."""

from __future__ import annotations

import math
import time
from pathlib import Path

import mlx.core as mx
import numpy as np

from testbeds import mlx_state
from testbeds.charlm.data import CharCorpus, validation_windows
from testbeds.charlm.model import LN2, build_model, cross_entropy
from testbeds.devices import resolve_mlx
from testbeds.runio import final_checkpoint, read_json, write_final


def validation_ce(model, tokens: np.ndarray, ctx: int, batch: int) -> float:
    """Mean CE (nats) over every predicted character of ``tokens``, windows of ``ctx``."""
    windows = validation_windows(tokens, ctx)
    total, count = 0.0, 0
    by_length: dict[int, list] = {}
    for x, y in windows:
        by_length.setdefault(len(x), []).append((x, y))
    for pairs in by_length.values():
        for i in range(0, len(pairs), batch):
            x = np.stack([p[0] for p in pairs[i : i + batch]])
            y = np.stack([p[1] for p in pairs[i : i + batch]])
            total += cross_entropy(model(mx.array(x)), mx.array(y)).item() * y.size
            count += y.size
    return total / count


def evaluate(run_dir: Path, data_dir: Path) -> dict:
    """Write final.json for ``run_dir`` from its last checkpoint and train.json."""
    run_dir = Path(run_dir)
    prov, summary = read_json(run_dir / "provenance.json"), read_json(run_dir / "train.json")
    run = prov["config"]
    corpus = CharCorpus(data_dir)
    bits = f"test_{corpus.bits}"  # test_bpc or test_bpb
    metrics: dict = {f"best_{corpus.bits_metric}_fixed_batch": summary[f"best_{corpus.bits_metric}"]}
    status = summary["status"]
    eval_seconds = 0.0
    if status == "ok":
        resolve_mlx(run["device"])
        model = build_model(run, corpus.vocab_size)
        mlx_state.load_model(model, final_checkpoint(run_dir, prov, summary))
        started = time.perf_counter()
        ce = validation_ce(model, corpus.test, run["model"]["ctx"], run["eval"]["batch"])
        eval_seconds = time.perf_counter() - started
        metrics.update({"test_loss": ce, bits: ce / LN2, "test_units": int(len(corpus.test) - 1)})
        if not math.isfinite(ce):
            status = "diverged"
    return write_final(
        run_dir,
        prov,
        summary,
        status=status,
        primary=bits,
        curve=corpus.bits_metric,
        direction="min",
        metrics=metrics,
        trivial={bits: math.log2(corpus.vocab_size), "test_loss": math.log(corpus.vocab_size)},  # a uniform guess
        data_source=corpus.manifest["label"],
        throughput={"eval_units_per_second": metrics.get("test_units", 0) / eval_seconds if eval_seconds else None},
    )
