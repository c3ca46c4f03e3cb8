"""The JAX floor of a workload's training (``TrainLoop`` with JAX's plumbing): the device and thread
count, the registry's optax optimiser, a jit-compiled step that donates the parameters and optimiser
state, and checkpoints of both (flax.serialization msgpack). A workload keeps its data, model, loss and
metrics.

The learning rate and the weight decay are arguments of the compiled step, not constants of it, so one
compilation (and one entry of the persistent compilation cache) serves every tuning trial and seed of a
variant and optimiser. Both only multiply the update, so the step computes bit for bit what it computes with
them as constants (tests/test_jax_loop.py); the rate is the loop's schedule's (``TrainLoop.learning_rate``),
as ``optax.inject_hyperparams`` would feed it."""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from pathlib import Path
from typing import Callable

import jax
import numpy as np
import optax
from flax import serialization

from testbeds.devices import resolve_jax
from testbeds.loop import TrainLoop, say
from testbeds.optim import jax_optim
from testbeds.optim.options import resolve_options
from testbeds.optim.registry import make_optimizer

STATE_FILE = "state.msgpack"


def use_device(run: dict) -> str:
    """The run's JAX platform, with XLA's CPU thread pool sized to the run's threads: for training and scoring
    alike (before any array is made)."""
    return resolve_jax(run["device"], run["threads"])


def load_params(template, checkpoint: Path):
    """The params evaluation uses, from a checkpoint directory ``JaxLoop`` wrote, in the structure of
    ``template`` (e.g. ``jax.eval_shape`` of the initialiser); the optimiser state is skipped."""
    saved = serialization.msgpack_restore((checkpoint / STATE_FILE).read_bytes())
    return serialization.from_state_dict(template, saved["params"])


class JaxLoop(TrainLoop):
    packages = ["jax", "jaxlib", "flax", "optax", "numpy"]

    def __init__(self, run: dict, run_dir: Path, log=say):
        super().__init__(run, run_dir, use_device(run), log)

    def registry_optimizer(self, hyper: dict) -> optax.GradientTransformation:
        """The run's optimiser from the registry at ``hyper`` (``hyperparameters()``, traced inside the step)."""
        return registry_optimizer(self.run["optimizer"], hyper)

    def use_optimizer(self, params, optimizer: Callable[[dict], optax.GradientTransformation]) -> None:
        """Train ``params`` with ``optimizer(hyper)`` (the registry's optimiser, possibly chained with e.g.
        clipping), built inside the compiled step from ``hyperparameters()``; compiles ``make_step``."""
        self.params, self.optimizer = params, optimizer
        self.options = traced_options(self.run["optimizer"])
        self.opt_state = jax.jit(optimizer(self.hyperparameters()).init)(params)
        self.step_fn = self.compiled(self.make_step())

    @abstractmethod
    def make_step(self):
        """The step, ``(params, opt_state, hyper, batch arguments...) -> (params, opt_state, loss)``: it computes
        the gradients and ends with ``self.apply(grads, opt_state, params, hyper)``."""

    def apply(self, grads, opt_state, params, hyper: dict):
        """Inside the compiled step: the optimiser's update at ``hyper``, applied; the new params and state."""
        updates, opt_state = self.optimizer(hyper).update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    def run_step(self, *batch):
        """One optimisation step (the compiled ``make_step``) at this step's learning rate; the loss."""
        self.params, self.opt_state, loss = self.step_fn(self.params, self.opt_state, self.hyperparameters(), *batch)
        return loss

    def hyperparameters(self) -> dict:
        """Arguments of the compiled step: this step's learning rate and the traced options."""
        return hyperparameters(self.learning_rate(), self.options)

    def compiled(self, step):
        """``step(params, opt_state, ...) -> (params, opt_state, loss)`` jit-compiled; its first two arguments'
        buffers are reused for the results."""
        return jax.jit(step, donate_argnums=(0, 1))

    @contextlib.contextmanager
    def evaluation_parameters(self):
        training = self.params
        self.params = jax_optim.evaluation_params(self.opt_state, training)
        try:
            yield
        finally:
            self.params = training

    def saved_state(self) -> dict:
        """ "params" is what evaluation loads; a Schedule-Free run also keeps its training iterate."""
        state = {"params": jax_optim.evaluation_params(self.opt_state, self.params), "opt": self.opt_state}
        if jax_optim.schedule_free_state(self.opt_state) is not None:
            state["training_params"] = self.params
        return state

    def write_state(self, directory: Path) -> None:
        (directory / STATE_FILE).write_bytes(serialization.to_bytes(self.saved_state()))

    def read_state(self, directory: Path, meta: dict) -> None:
        state = serialization.from_bytes(self.saved_state(), (directory / STATE_FILE).read_bytes())
        self.params, self.opt_state = state.get("training_params", state["params"]), state["opt"]

    def optimizer_diagnostics(self, lr: float) -> dict[str, dict[str, float]]:
        return jax_optim.diagnostics(self.opt_state, self.run["optimizer"], self.step, lr)


def traced_options(spec: dict) -> dict:
    """The optimizer entry's options the step takes as arguments: a non-zero weight decay, as float32. A zero
    decay stays a constant: optax skips it then."""
    decay = resolve_options(spec).get("weight_decay")
    return {"weight_decay": np.float32(decay)} if isinstance(decay, float) and decay != 0 else {}


def hyperparameters(learning_rate: float, options: dict) -> dict:
    """Arguments of the compiled step: the learning rate, as float32, and the traced options."""
    return {"learning_rate": np.float32(learning_rate), **options}


def registry_optimizer(spec: dict, hyper: dict) -> optax.GradientTransformation:
    """The registry's optax optimiser for the entry ``spec`` with the values of ``hyper`` (traced or not)."""
    options = {k: v for k, v in hyper.items() if k != "learning_rate"}
    return make_optimizer("jax", {**spec, **options}, hyper["learning_rate"])
