"""Minibatch least squares with the registry's optimiser, on the shared PyTorch training floor."""

from pathlib import Path

import torch

from testbeds.loop import say
from testbeds.torch_loop import TorchLoop

from toy.data import datasets
from toy.model import build_model, mse


class Trainer(TorchLoop):
    def __init__(self, run: dict, run_dir: Path, log=say):
        super().__init__(run, run_dir, log)
        (self.x, self.y), (self.val_x, self.val_y) = datasets(run)
        self.use_model(build_model(run))

    def train_step(self):
        rows = torch.randint(len(self.x), (self.settings["batch"],), generator=torch.Generator().manual_seed(self.step))
        loss = mse(self.model, self.x[rows], self.y[rows])
        self.optimize(loss)
        return loss.item(), len(rows), {}

    @torch.no_grad()
    def evaluate(self) -> dict:
        return {"val_loss": mse(self.model, self.val_x, self.val_y).item()}


def train(run: dict, data_dir, run_dir: Path, log=say) -> dict:
    return Trainer(run, run_dir, log).train()
