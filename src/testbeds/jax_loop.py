"""The JAX floor of a workload's training (``TrainLoop`` with JAX's plumbing): the device and thread
count, the registry's optax optimiser, a jit-compiled step that donates the parameters and optimiser
state, and checkpoints of both (flax.serialization msgpack). A workload keeps its data, model, loss and
metrics."""

from __future__ import annotations

import contextlib
from pathlib import Path

import jax
import optax
from flax import serialization

from testbeds.devices import resolve_jax
from testbeds.loop import TrainLoop, say
from testbeds.optim import jax_optim
from testbeds.optim.kbeta_optax import bucket_diagnostics
from testbeds.optim.registry import make_optimizer

STATE_FILE = "state.msgpack"


class JaxLoop(TrainLoop):
    packages = ["jax", "jaxlib", "flax", "optax", "numpy"]

    def __init__(self, run: dict, run_dir: Path, log=say):
        super().__init__(run, run_dir, resolve_jax(run["device"], run["threads"]), log)

    def registry_optimizer(self, learning_rate) -> optax.GradientTransformation:
        """The run's optimiser from the registry, at ``learning_rate`` (a number or an optax schedule)."""
        return make_optimizer("jax", self.run["optimizer"], learning_rate)

    def use_params(self, params, tx: optax.GradientTransformation) -> None:
        """Train ``params`` with ``tx`` (the registry's optimiser, possibly chained with e.g. clipping)."""
        self.params, self.tx = params, tx
        self.opt_state = jax.jit(tx.init)(params)

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
