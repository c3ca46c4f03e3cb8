"""Minibatch least squares with the registry's optimiser, through the shared training loop."""

from pathlib import Path

import torch
from testbeds.loop import TrainLoop, say
from testbeds.optim import torch_optim
from testbeds.optim.registry import make_optimizer

from toy.data import datasets
from toy.model import build_model, mse


class Trainer(TrainLoop):
    packages = ["torch"]

    def __init__(self, run: dict, run_dir: Path, log=say):
        super().__init__(run, run_dir, "cpu", log)
        (self.x, self.y), (self.val_x, self.val_y) = datasets(run)
        self.model = build_model(run)
        spec = run["optimizer"]
        self.opt = make_optimizer("torch", spec, self.settings["lr"], torch_optim.parameter_groups(self.model, spec))

    def train_step(self):
        rows = torch.randint(len(self.x), (self.settings["batch"],), generator=torch.Generator().manual_seed(self.step))
        loss = mse(self.model, self.x[rows], self.y[rows])
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item(), len(rows), {}

    @torch.no_grad()
    def evaluate(self) -> dict:
        return {"val_loss": mse(self.model, self.val_x, self.val_y).item()}

    def learning_rate(self) -> float:
        return self.settings["lr"]

    def write_state(self, directory: Path) -> None:
        torch.save({"model": self.model.state_dict(), "optimizer": self.opt.state_dict()}, directory / "state.pt")

    def read_state(self, directory: Path, meta: dict) -> None:
        state = torch.load(directory / "state.pt")
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])


def train(run: dict, data_dir, run_dir: Path, log=say) -> dict:
    return Trainer(run, run_dir, log).train()
