"""Training of the lot workload (source 003) with PyTorch Lightning.

Lightning drives the steps (seeded, deterministic, TensorBoard logs in ``run_dir/tensorboard``); a
callback feeds every finished step to ``testbeds.loop.TrainLoop``, which writes the run contract, and
checkpoints hold Lightning's full trainer state (model, optimiser, loop progress, RNG) inside the
loop's atomic, checksummed checkpoint directories. Batches are a pure function of the step number, so
a resumed run sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch.loggers import TensorBoardLogger

from testbeds.loop import TrainLoop, say
from testbeds.lot.data import datasets
from testbeds.lot.evaluate import evaluate_model
from testbeds.lot.model import build_model, count_parameters
from testbeds.optim import torch_optim
from testbeds.torch_loop import LIGHTNING_FILE, build_optimizer, use_device

ACCELERATOR = {"cpu": "cpu", "cuda": "gpu", "mps": "mps"}


class StepBatches(torch.utils.data.IterableDataset):
    """Batch ``s`` = a slice of the permutation of epoch s // steps_per_epoch (seeded by run seed and epoch)."""

    def __init__(self, data: tuple[torch.Tensor, torch.Tensor], batch: int, seed: int, first_step):
        self.x, self.y = data
        self.batch, self.seed, self.first_step = batch, seed, first_step
        self.per_epoch = len(self.x) // batch

    def batch_at(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, index = divmod(step, self.per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.x))
        picked = torch.from_numpy(order[index * self.batch : (index + 1) * self.batch])
        return self.x[picked], self.y[picked]

    def __iter__(self):
        step = self.first_step()
        while True:
            yield self.batch_at(step)
            step += 1


class CopyReverse(L.LightningModule):
    def __init__(self, run: dict):
        super().__init__()
        self.run, self.model = run, build_model(run)
        self.lambdas = (run["train"]["lambda_sync"], run["train"]["lambda_div"])

    def training_step(self, batch, batch_idx):
        x, y = batch
        ce = F.cross_entropy(self.model(x).flatten(0, 1), y.flatten(), ignore_index=-100)
        loss = ce + self.model.regularisers(*self.lambdas).to(ce.device)
        self.log_dict({"train/loss": loss, "train/ce": ce}, on_step=True)
        return loss

    def configure_optimizers(self):
        return build_optimizer(self.model, self.run["optimizer"], self.run["train"]["lr"])

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["torch_rng"] = torch.get_rng_state()  # dropout masks continue identically after resume
        opt = self.trainer.optimizers[0]
        if torch_optim.is_schedule_free(opt):  # evaluation loads "state_dict": the average; resume the iterate
            checkpoint["training_state_dict"] = checkpoint["state_dict"]
            checkpoint["state_dict"] = torch_optim.evaluated_state(opt, self)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        torch.set_rng_state(checkpoint["torch_rng"])
        if "training_state_dict" in checkpoint:  # called before Lightning loads "state_dict" into the module
            checkpoint["state_dict"] = checkpoint["training_state_dict"]


class RunContract(L.Callback):
    """Hands every finished Lightning step to the TrainLoop (logs, evaluation, checkpoints, stopping)."""

    def __init__(self, loop: "Trainer"):
        self.loop = loop

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.lr = self.loop.learning_rate()  # the loop's schedule, as for every workload
        torch_optim.set_learning_rate(trainer.optimizers[0], self.lr)
        self.started = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        loss = outputs["loss"].item()
        extra = {"train_ce": float(trainer.callback_metrics.get("train/ce", math.nan))}
        stop = self.loop.record_step(loss, batch[0].numel(), extra, self.lr, time.perf_counter() - self.started)
        if stop:
            self.loop.stop_reason = stop
            trainer.should_stop = True


class Trainer(TrainLoop):
    packages = ["torch", "lightning", "numpy"]
    eval_columns = ["val_ce", "val_exact_match", "sync_order"]
    extra_columns = ["train_ce"]

    def __init__(self, run: dict, data_dir: Path | None, run_dir: Path, log=say):
        super().__init__(run, run_dir, use_device(run), log)
        L.seed_everything(run["seed"], workers=True, verbose=False)
        self.module = CopyReverse(run)
        self.train_data, self.val_data = datasets(run)
        self.ckpt_path, self.stop_reason = None, None
        tensorboard = TensorBoardLogger(save_dir=str(self.run_dir), name="tensorboard", version="")
        self.trainer = L.Trainer(
            max_steps=self.total_steps,
            accelerator=ACCELERATOR[self.device],
            devices=1,
            deterministic=True,
            logger=tensorboard,
            callbacks=[RunContract(self)],
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            limit_val_batches=0,
            gradient_clip_val=run["train"]["clip"] or None,
            log_every_n_steps=run["train"]["log_every"],
        )

    # ------------------------------------------------------------------ hooks
    def train_step(self) -> tuple[float, int, dict]:
        raise RuntimeError("lot's steps run inside Lightning's fit(), which RunContract records: see train()")

    def evaluation_parameters(self):
        return torch_optim.evaluation_parameters(self.trainer.optimizers[0], self.module.model)

    def evaluate(self) -> dict:
        scores = evaluate_model(self.module.model, self.val_data, self.run["train"]["eval_batch"], self.device)
        if self.trainer.logger is not None:
            self.trainer.logger.log_metrics(
                {f"val/{k}": v for k, v in scores.items() if k != "attention_entropy"}, step=self.step
            )
        return {
            "val_exact_match": scores["exact_match"],
            "val_ce": scores["ce_loss"],
            "sync_order": scores["sync_order"],
        }

    def write_state(self, directory: Path) -> None:
        self.trainer.save_checkpoint(directory / LIGHTNING_FILE)

    def read_state(self, directory: Path, meta: dict) -> None:
        self.ckpt_path = directory / LIGHTNING_FILE  # Lightning restores everything when fit() starts

    def optimizer_diagnostics(self, lr: float) -> dict[str, dict[str, float]]:
        if not self.trainer.optimizers:
            return {}
        return torch_optim.diagnostics(self.trainer.optimizers[0], self.run["optimizer"], self.step, lr)

    def describe(self) -> dict:
        return {"parameters": count_parameters(self.module.model), "attention": self.run["model"]["attention"]}

    def data_manifest(self) -> dict:
        return {"task": "copy-reverse", "label": "copy-reverse (generated)", **self.run["data"]}

    def train(self) -> dict:
        self.begin()
        batches = StepBatches(self.train_data, self.run["train"]["batch"], self.run["seed"], lambda: self.step)
        # its own generator: creating the iterator must not draw from the global RNG (dropout's stream)
        loader = torch.utils.data.DataLoader(
            batches, batch_size=None, num_workers=0, generator=torch.Generator().manual_seed(self.run["seed"])
        )
        logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
        if self.step < self.total_steps:
            self.trainer.fit(self.module, train_dataloaders=loader, ckpt_path=self.ckpt_path)
        return self.end(self.stop_reason)


def train(run: dict, data_dir: Path | None, run_dir: Path, log=say) -> dict:
    return Trainer(run, data_dir, run_dir, log).train()
