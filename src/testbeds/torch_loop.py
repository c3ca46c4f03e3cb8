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

STATE_FILE = "state.pt"


class TorchLoop(TrainLoop):
    packages = ["torch", "numpy"]

    def __init__(self, run: dict, run_dir: Path, log=say):
        super().__init__(run, run_dir, resolve_torch(run["device"]), log)
        torch.set_num_threads(run["threads"])

    def use_model(self, model: torch.nn.Module) -> None:
        """Train ``model`` (moved to the run's device) with the run's optimiser on its parameter groups."""
        self.model = model.to(self.device)
        spec = self.run["optimizer"]
        groups = torch_optim.parameter_groups(self.model, spec)
        self.opt = make_optimizer("torch", spec, self.settings["lr"], params=groups)

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

    def bucket_diagnostics(self) -> dict[str, tuple[float, float]]:
        return torch_optim.bucket_diagnostics(self.opt)

    def describe(self) -> dict:
        return {"torch_threads": torch.get_num_threads()}
