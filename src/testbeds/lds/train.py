"""Training of the lds workload (source 002) in JAX/Flax/Optax.

A jit-compiled step draws a fresh batch of the run's system (or chain) from a key folded with the step
number, so a resumed run sees the same batches as an uninterrupted one. Optimiser: global-norm clipping
then the registry's optimiser at the loop's learning rate of each step (train.schedule).
The JAX floor (``testbeds.jax_loop.JaxLoop``) writes the run contract and checkpoints (params and
optimiser state, flax.serialization msgpack).
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import optax

from testbeds.jax_loop import JaxLoop
from testbeds.lds.model import build_model, count_parameters
from testbeds.lds.task import Evaluator, Task, init_params, load_item, system_index
from testbeds.loop import say
from testbeds.runio import read_json

EVAL_COLUMNS = {"lds": ["score", "mse"], "bigram": ["ce_excess", "ce", "accuracy"]}


def eval_key(run: dict):
    return jax.random.fold_in(jax.random.PRNGKey(run["train"]["fixed_eval_seed"]), 1)


class Trainer(JaxLoop):
    packages = JaxLoop.packages + ["scipy"]

    def __init__(self, run: dict, data_dir: Path, run_dir: Path, log=say):
        super().__init__(run, run_dir, log)
        t, d = self.settings, run["data"]
        self.eval_columns = EVAL_COLUMNS[d["task"]]
        self.index = system_index(run)
        self.task = Task(run, load_item(data_dir, self.index), build_model(run))
        self.manifest = {**read_json(Path(data_dir) / "manifest.json"), "system_index": self.index}
        self.use_optimizer(
            init_params(run, self.task),
            lambda hyper: optax.chain(optax.clip_by_global_norm(t["clip"]), self.registry_optimizer(hyper)),
        )
        self.evaluator = Evaluator(self.task, eval_key(run), t["eval_batch"])
        base = jax.random.PRNGKey(run["seed"])
        self.data_key, self.dropout_key = jax.random.fold_in(base, 0), jax.random.fold_in(base, 1)
        self.tokens_per_step = t["batch"] * d["seq_len"]

    def make_step(self):
        """The compiled step; seed-dependent values (keys, the system) and the tuned ones (learning rate,
        weight decay) are arguments, not constants, so that the persistent compilation cache serves every
        trial and seed of a (variant, optimizer)."""
        batch_size = self.settings["batch"]

        def step(params, opt_state, hyper, step_index, data_key, dropout_key, system):
            task = self.task.using(system)
            batch = task.sample(jax.random.fold_in(data_key, step_index), batch_size)
            dropout = jax.random.fold_in(dropout_key, step_index)
            loss, grads = jax.value_and_grad(task.loss)(params, batch, dropout, True)
            return *self.apply(grads, opt_state, params, hyper), loss

        return step

    # ------------------------------------------------------------------ hooks
    def source_rate(self, step: int) -> float:
        return self.warmup_cosine_rate(step)  # the source's own schedule is the common one

    def train_step(self) -> tuple[float, int, dict]:
        loss = self.run_step(jnp.int32(self.step), self.data_key, self.dropout_key, self.task.system)
        return float(loss), self.tokens_per_step, {}

    def evaluate(self) -> dict:
        metrics = self.evaluator(self.params)
        return {k: metrics[k] for k in self.eval_columns}

    def describe(self) -> dict:
        item = self.task.item
        extra = (
            {"kf_mse": float(item["kf_mse"]), "spectral_radius": float(item["spectral_radius"])}
            if self.task.kind == "lds"
            else {"entropy_floor": float(item["entropy_floor"])}
        )
        return {"parameters": count_parameters(self.params), "system_index": self.index, **extra}

    def data_manifest(self) -> dict:
        return self.manifest


def train(run: dict, data_dir: Path, run_dir: Path, log=say) -> dict:
    return Trainer(run, data_dir, run_dir, log).train()
