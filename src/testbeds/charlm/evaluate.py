"""Final evaluation of a charlm run: bits per character (or byte) on the whole test split."""

from __future__ import annotations

import math
from pathlib import Path

import mlx.core as mx
import numpy as np

from testbeds.charlm.data import CharCorpus, validation_windows
from testbeds.charlm.model import LN2, build_model, cross_entropy
from testbeds.evaluation import Description, Evaluation, Scores
from testbeds.mlx_loop import load_model, use_device


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


class CharlmEvaluation(Evaluation):
    """Bits per character (byte) on the whole test split, from the run's last checkpoint."""

    def describe(self, run: dict, summary: dict, data_dir: Path) -> Description:
        corpus = CharCorpus(data_dir)
        return Description(
            primary=f"test_{corpus.bits}",  # test_bpc or test_bpb
            curve=corpus.bits_metric,
            data_source=corpus.manifest["label"],
            metrics={f"best_{corpus.bits_metric}_fixed_batch": summary[f"best_{corpus.bits_metric}"]},
            throughput="eval_units_per_second",
            units=len(corpus.test) - 1,
        )

    def score(self, run: dict, checkpoint: Path, data_dir: Path) -> Scores:
        corpus = CharCorpus(data_dir)
        use_device(run)
        model = load_model(build_model(run, corpus.vocab_size), checkpoint)
        ce = validation_ce(model, corpus.test, run["model"]["ctx"], run["eval"]["batch"])
        bits = f"test_{corpus.bits}"
        return Scores(
            metrics={"test_loss": ce, bits: ce / LN2, "test_units": int(len(corpus.test) - 1)},
            trivial={bits: math.log2(corpus.vocab_size), "test_loss": math.log(corpus.vocab_size)},  # uniform
        )


evaluate = CharlmEvaluation()
