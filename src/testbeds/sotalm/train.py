"""Training loop of the sotalm workload (source 004) in PyTorch.

Random non-overlapping chunks of seq_len + 1 tokens, reshuffled every epoch (the source's data order);
the learning rate of the loop's schedule (its source's is the common warm-up + cosine); gradient clipping; AdamW with weight decay on
matrices only, or any registry optimiser. The run contract and torch's plumbing come from
``testbeds.torch_loop.TorchLoop``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from testbeds.loop import say
from testbeds.sotalm.data import batch_at, chunks, load_tokens
from testbeds.sotalm.evaluate import mean_loss
from testbeds.sotalm.model import build_model, count_parameters
from testbeds.torch_loop import TorchLoop


class Trainer(TorchLoop):
    packages = ["torch", "tokenizers", "numpy"]
    eval_columns = ["val_loss", "val_perplexity"]

    def __init__(self, run: dict, data_dir: Path, run_dir: Path, log=say):
        super().__init__(run, run_dir, log)
        t, m = self.settings, run["model"]
        splits, self.meta = load_tokens(data_dir)
        self.train_tokens, self.val_tokens = splits["train"], splits["val"]
        self.use_model(build_model(run, self.meta["vocab_size"]))
        self.forward = torch.compile(self.model) if m["compile"] else self.model
        self.starts = chunks(self.train_tokens, m["seq_len"])
        self.per_epoch = len(self.starts) // t["batch"]
        if self.per_epoch == 0:
            raise ValueError(f"{data_dir}: {len(self.starts)} training chunks do not fill one batch of {t['batch']}")
        if t["epochs"] is not None:
            self.total_steps = int(t["epochs"] * self.per_epoch)
        self.order = None

    def epoch_order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.run["seed"], epoch]).permutation(len(self.starts))

    # ------------------------------------------------------------------ hooks
    def source_rate(self, step: int) -> float:
        return self.warmup_cosine_rate(step)  # the source's own schedule is the common one

    def train_step(self) -> tuple[float, int, dict]:
        t = self.settings
        epoch, index = divmod(self.step, self.per_epoch)
        if index == 0 or self.order is None:
            self.order = self.epoch_order(epoch)
        picked = self.starts[self.order[index * t["batch"] : (index + 1) * t["batch"]]]
        x, y = batch_at(self.train_tokens, picked, self.run["model"]["seq_len"], self.device)
        loss = F.cross_entropy(self.forward(x).flatten(0, 1), y.flatten())
        self.optimize(loss, clip=t["clip"])
        return loss.item(), y.numel(), {}

    def evaluate(self) -> dict:
        m, t = self.run["model"], self.settings
        loss = mean_loss(self.model, self.val_tokens, m["seq_len"], t["batch"], self.device, t["eval_batches"])
        return {"val_loss": loss, "val_perplexity": math.exp(min(loss, 50.0))}

    def describe(self) -> dict:
        return {**super().describe(), "parameters": count_parameters(self.model), "steps_per_epoch": self.per_epoch}

    def data_manifest(self) -> dict:
        return self.meta


def train(run: dict, data_dir: Path, run_dir: Path, log=say) -> dict:
    return Trainer(run, data_dir, run_dir, log).train()
