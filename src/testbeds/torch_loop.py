"""The PyTorch floor of a workload's training (``TrainLoop`` with torch's plumbing): the device and thread
count, the registry's optimiser on the model's parameter groups at the loop's learning rate of each step, and
checkpoints of the model, optimiser and torch's RNG (dropout resumes exactly). A workload keeps its data,
model, loss and metrics."""

from __future__ import annotations

from pathlib import Path

import torch

from testbeds.devices import resolve_torch
from testbeds.loop import TrainLoop, say
from testbeds.optim import torch_optim
from testbeds.optim.registry import make_optimizer

STATE_FILE = "state.pt"  # TorchLoop's checkpoint: "model" holds the weights evaluation uses
LIGHTNING_FILE = "trainer.ckpt"  # a Lightning trainer's: its module's "state_dict", the network under .model


def use_device(run: dict) -> str:
    """The run's torch device, with torch's thread count set to the run's: for training and scoring alike."""
    device = resolve_torch(run["device"])
    torch.set_num_threads(run["threads"])
    return device


def build_optimizer(model: torch.nn.Module, spec: dict, lr: float) -> torch.optim.Optimizer:
    """The registry's optimiser for the entry ``spec`` on ``model``'s parameter groups (weight decay where due)."""
    return make_optimizer("torch", spec, lr, params=torch_optim.parameter_groups(model, spec))


def load_model(model: torch.nn.Module, checkpoint: Path, device: str) -> torch.nn.Module:
    """``model`` on ``device`` with the weights evaluation uses, from a checkpoint directory that ``TorchLoop``
    or a Lightning trainer (lot) wrote; in eval mode."""
    if (checkpoint / LIGHTNING_FILE).exists():
        state = torch.load(checkpoint / LIGHTNING_FILE, map_location=device, weights_only=False)["state_dict"]
        weights = {key.removeprefix("model."): value for key, value in state.items()}
    else:
        weights = torch.load(checkpoint / STATE_FILE, map_location=device, weights_only=False)["model"]
    model.to(device).load_state_dict(weights)
    return model.eval()


class TorchLoop(TrainLoop):
    packages = ["torch", "numpy"]

    def __init__(self, run: dict, run_dir: Path, log=say):
        super().__init__(run, run_dir, use_device(run), log)

    def use_model(self, model: torch.nn.Module) -> None:
        """Train ``model`` (moved to the run's device) with the run's optimiser on its parameter groups."""
        self.model = model.to(self.device)
        self.opt = build_optimizer(self.model, self.run["optimizer"], self.settings["lr"])

    def optimize(self, loss: torch.Tensor, clip: float = 0.0) -> None:
        """Backpropagate ``loss``, clip the gradients' global norm (when ``clip`` > 0), step the optimiser at
        this step's learning rate."""
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
        torch_optim.set_learning_rate(self.opt, self.learning_rate())
        self.opt.step()

    def evaluation_parameters(self):
        return torch_optim.evaluation_parameters(self.opt, self.model)

    def write_state(self, directory: Path) -> None:
        # "model" is what evaluation loads; a Schedule-Free run also keeps its training iterate to resume from
        state = {
            "model": torch_optim.evaluated_state(self.opt, self.model),
            "optimizer": self.opt.state_dict(),
            "torch_rng": torch.get_rng_state(),
        }
        if torch_optim.is_schedule_free(self.opt):
            state["training_model"] = self.model.state_dict()
        torch.save(state, directory / STATE_FILE)

    def read_state(self, directory: Path, meta: dict) -> None:
        state = torch.load(directory / STATE_FILE, map_location=self.device, weights_only=False)
        self.model.load_state_dict(state.get("training_model", state["model"]))
        self.opt.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])

    def optimizer_diagnostics(self, lr: float) -> dict[str, dict[str, float]]:
        return torch_optim.diagnostics(self.opt, self.run["optimizer"], self.step, lr)

    def describe(self) -> dict:
        return {"torch_threads": torch.get_num_threads()}
