"""The JAX floor of a workload's training (``TrainLoop`` with JAX's plumbing): the device and thread
count, the registry's optax optimiser, a jit-compiled step that donates the parameters and optimiser
state, and checkpoints of both (flax.serialization msgpack). A workload keeps its data, model, loss and
metrics.

The learning rate and the weight decay are arguments of the compiled step, not constants of it, so one
compilation (and one entry of the persistent compilation cache) serves every tuning trial and seed of a
variant and optimiser. Both only multiply the update, and the schedule's values are computed once by the
schedule compiled on its own, so the step computes bit for bit what it computes with them as constants
(tests/test_jax_loop.py)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import serialization

from testbeds.devices import resolve_jax
from testbeds.loop import TrainLoop, say
from testbeds.optim import jax_optim
from testbeds.optim.kbeta_optax import bucket_diagnostics
from testbeds.optim.options import resolve_options
from testbeds.optim.registry import make_optimizer

STATE_FILE = "state.msgpack"


class JaxLoop(TrainLoop):
    packages = ["jax", "jaxlib", "flax", "optax", "numpy"]

    def __init__(self, run: dict, run_dir: Path, log=say):
        super().__init__(run, run_dir, resolve_jax(run["device"], run["threads"]), log)

    def registry_optimizer(self, hyper: dict) -> optax.GradientTransformation:
        """The run's optimiser from the registry at ``hyper`` (``hyperparameters()``, traced inside the step)."""
        return registry_optimizer(self.run["optimizer"], hyper)

    def use_optimizer(
        self, params, optimizer: Callable[[dict], optax.GradientTransformation], schedule: optax.Schedule
    ) -> None:
        """Train ``params`` with ``optimizer(hyper)`` (the registry's optimiser, possibly chained with e.g.
        clipping), built inside the compiled step from ``hyperparameters()``, at the learning rate
        ``schedule(step)``."""
        self.params, self.optimizer = params, optimizer
        self.rates, self.options = learning_rates(schedule, self.total_steps), traced_options(self.run["optimizer"])
        self.opt_state = jax.jit(optimizer(self.hyperparameters()).init)(params)

    def hyperparameters(self) -> dict:
        return hyperparameters(self.rates, self.options, self.step)

    def learning_rate(self) -> float:
        return float(self.rates[self.step])  # the value the step uses

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

    def bucket_diagnostics(self) -> dict[str, tuple[float, float]]:
        return bucket_diagnostics(self.opt_state)


def learning_rates(schedule: optax.Schedule, steps: int) -> np.ndarray:
    """``schedule`` at steps 0..steps-1 as float32, compiled (it rounds as it does inside a compiled step)."""
    return np.asarray(jax.jit(jax.vmap(schedule))(jnp.arange(steps)), dtype=np.float32)


def traced_options(spec: dict) -> dict:
    """The optimizer entry's options the step takes as arguments: a non-zero weight decay, as float32. A zero
    decay stays a constant: optax skips it then."""
    decay = resolve_options(spec).get("weight_decay")
    return {"weight_decay": np.float32(decay)} if isinstance(decay, float) and decay != 0 else {}


def hyperparameters(rates: np.ndarray, options: dict, step: int) -> dict:
    """Arguments of the compiled step at ``step``: its learning rate and the traced options."""
    return {"learning_rate": rates[step], **options}


def registry_optimizer(spec: dict, hyper: dict) -> optax.GradientTransformation:
    """The registry's optax optimiser for the entry ``spec`` with the values of ``hyper`` (traced or not)."""
    options = {k: v for k, v in hyper.items() if k != "learning_rate"}
    return make_optimizer("jax", {**spec, **options}, hyper["learning_rate"])
