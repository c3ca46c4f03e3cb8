"""The MLX floor of a workload's training (``TrainLoop`` with MLX's plumbing): the device, the registry's
optimiser on the model, compiled steps (a second one with Kβ's diagnostics on logged steps), and
checkpoints of the model and optimiser state. A workload keeps its data, model, loss and metrics."""

from __future__ import annotations

import contextlib
import os
from abc import abstractmethod
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn

from testbeds import mlx_state
from testbeds.devices import resolve_mlx
from testbeds.loop import TrainLoop, say
from testbeds.optim import mlx_optim
from testbeds.optim.registry import make_optimizer
from testbeds.speedups.blas import MARKER


def use_device(run: dict) -> str:
    """The run's MLX device, made the default: for training and scoring alike."""
    return resolve_mlx(run["device"])


def load_model(model: nn.Module, checkpoint: Path) -> nn.Module:
    """``model`` with the weights evaluation uses, from a checkpoint directory ``MlxLoop`` wrote."""
    mlx_state.load_model(model, checkpoint)
    return model


class MlxLoop(TrainLoop):
    packages = ["mlx", "kbeta", "numpy"]

    def __init__(self, run: dict, run_dir: Path, log=say):
        super().__init__(run, run_dir, use_device(run), log)

    def use_model(self, model: nn.Module) -> None:
        """Train ``model`` with the run's optimiser, at the learning rate ``learning_rate()`` gives each step."""
        self.model = model
        self.opt = make_optimizer("mlx", self.run["optimizer"], self.settings["lr"])
        mlx_optim.init_state(self.opt, model.trainable_parameters())
        self.steps = mlx_optim.DiagnosticSteps(self.opt, self.run["optimizer"], self.make_step)

    @abstractmethod
    def make_step(self):
        """The step, ``(batch arrays..., lr) -> loss``, as ``self.compiled(step)``; it ends with
        ``self.apply(grads, lr)``. Made twice for Kβ: with and without its diagnostics."""

    def compiled(self, step):
        """``step`` compiled with the model and optimiser state (unless ``train.compile`` is off)."""
        return mlx_optim.compile_step(step, self.model, self.opt, self.settings["compile"])

    def apply(self, grads: dict, lr: mx.array) -> None:
        self.opt.learning_rate = lr
        mlx_optim.apply_update(self.opt, self.model, grads)

    def run_step(self, *batch: mx.array) -> mx.array:
        """One optimisation step on ``batch`` at this step's learning rate; the loss, evaluated."""
        step = self.steps.get(logged=self.logs(self.step + 1))
        loss = step(*batch, mx.array(self.learning_rate(), dtype=mx.float32))
        mx.eval(loss, self.model.parameters(), self.opt.state)
        return loss

    @contextlib.contextmanager
    def evaluation_parameters(self):
        training = self.model.trainable_parameters()
        evaluated = mlx_optim.evaluation_parameters(self.opt, training)
        if evaluated is training:
            yield
            return
        self.model.update(evaluated)
        try:
            yield
        finally:
            self.model.update(training)

    def write_state(self, directory: Path) -> None:
        # the model file is what evaluation loads; a Schedule-Free run also keeps its training iterate
        with self.evaluation_parameters():
            mlx_state.save(self.model, self.opt, directory)
        if mlx_optim.is_schedule_free(self.opt):
            mlx_state.save_model(self.model, directory, mlx_state.TRAINING_FILE)

    def read_state(self, directory: Path, meta: dict) -> None:
        mlx_state.load(self.model, self.opt, directory)
        if (directory / mlx_state.TRAINING_FILE).exists():
            mlx_state.load_model(self.model, directory, mlx_state.TRAINING_FILE)

    def optimizer_diagnostics(self, lr: float) -> dict[str, dict[str, float]]:
        return mlx_optim.diagnostics(self.opt, self.run["optimizer"], self.step, lr)

    def describe(self) -> dict:
        return {"blas": os.environ.get(MARKER, "not set")}
