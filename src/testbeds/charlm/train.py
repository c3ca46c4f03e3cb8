"""Training loop of the charlm workload (Testbed D, source 001) in MLX.

Writes the run contract (docs/design.md) into ``run_dir`` through ``testbeds.mlx_loop.MlxLoop``: metrics.csv,
provenance.json, checkpoint/ and train.json (the training summary that ``evaluate`` turns into
final.json). A killed run resumes from its newest valid checkpoint and ends with the same numbers as
one that was never interrupted.
"""

from __future__ import annotations

from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import numpy as np
from mlx.utils import tree_flatten, tree_map, tree_unflatten

from testbeds.charlm.data import BatchSampler, CharCorpus, fixed_eval_batch
from testbeds.charlm.model import LN2, build_model, count_parameters, cross_entropy
from testbeds.loop import say
from testbeds.mlx_loop import MlxLoop
from testbeds.schedule import lr_at, parse_lr_schedule


def decays(path: str, train: dict) -> bool:
    """Testbed D's decoupled weight decay skips biases, LayerNorms and embeddings unless asked."""
    if path.endswith("bias"):
        return train["wd_bias"]
    if ".ln" in path or path.startswith("ln"):
        return train["wd_norm"]
    if path.startswith(("tok.", "pos.")):
        return train["wd_embed"]
    return True


def mean_ce(model: nn.Module, x: np.ndarray, y: np.ndarray, chunk: int = 32) -> float:
    """Mean cross-entropy (nats per character) of ``model`` on ``x -> y``, in chunks."""
    total = 0.0
    for i in range(0, len(x), chunk):
        logits = model(mx.array(x[i : i + chunk]))
        total += cross_entropy(logits, mx.array(y[i : i + chunk])).item() * len(x[i : i + chunk])
    return total / len(x)


class Trainer(MlxLoop):
    """One charlm run: model, optimiser and the variable-length character stream."""

    extra_columns = ["seq_len"]

    def __init__(self, run: dict, data_dir: Path, run_dir: Path, log=say):
        super().__init__(run, run_dir, log)
        t = self.settings
        self.corpus = CharCorpus(data_dir)
        self.eval_columns = [self.corpus.bits_metric, "val_loss"]  # bits per character, or per byte
        self.use_model(build_model(run, self.corpus.vocab_size))
        self.sampler = BatchSampler(
            self.corpus.train,
            t["batch"],
            t["lmin"],
            t["lmax"],
            t["len_bucket"],
            run["model"]["ctx"],
            t["deterministic"],
            run["seed"],
        )
        self.eval_x, self.eval_y = fixed_eval_batch(
            self.corpus.val, t["eval_bs"], min(256, run["model"]["ctx"]), t["fixed_eval_seed"]
        )
        self.lr_points = parse_lr_schedule(t["lr_schedule"])

    # ------------------------------------------------------------------ hooks
    def source_rate(self, step: int) -> float:
        return lr_at(step + 1, self.settings["lr"], self.lr_points)  # Testbed D's piecewise constant rates

    def train_step(self) -> tuple[float, int, dict]:
        x, y = self.sampler.next()
        loss = self.run_step(mx.array(x), mx.array(y))
        return loss.item(), x.size, {"seq_len": x.shape[1]}

    def evaluate(self) -> dict:
        loss = mean_ce(self.model, self.eval_x, self.eval_y)
        return {"val_loss": loss, self.corpus.bits_metric: loss / LN2}

    def read_state(self, directory: Path, meta: dict) -> None:
        super().read_state(directory, meta)
        self.sampler.restore(meta["sampler"])

    def state_meta(self) -> dict:
        return {"sampler": self.sampler.state()}

    def describe(self) -> dict:
        return {**super().describe(), "parameters": count_parameters(self.model)}

    def data_manifest(self) -> dict:
        return self.corpus.manifest

    # ------------------------------------------------------------------- step
    def make_step(self):
        model, wd = self.model, self.settings["wd"]
        decay = {path: decays(path, self.settings) for path, _ in tree_flatten(model.trainable_parameters())}
        decay_tree = tree_unflatten(list(decay.items()))
        loss_and_grad = nn.value_and_grad(model, lambda m, x, y: cross_entropy(m(x), y))

        def step(x: mx.array, y: mx.array, lr: mx.array) -> mx.array:
            loss, grads = loss_and_grad(model, x, y)
            if wd > 0:  # decoupled: p <- p (1 - lr wd) before the update
                model.update(
                    tree_map(lambda p, d: p * (1 - lr * wd) if d else p, model.trainable_parameters(), decay_tree)
                )
            self.apply(grads, lr)
            return loss

        return self.compiled(step)


def train(run: dict, data_dir: Path, run_dir: Path, log=say) -> dict:
    return Trainer(run, data_dir, run_dir, log).train()
