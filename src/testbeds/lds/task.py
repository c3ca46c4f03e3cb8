"""The two tasks of source 002 in JAX: batches drawn inside jit, the training losses, the model's predictions.

lds: sequences y_1..y_T of the run's system, fresh every step; the model sees the zero patch and
patches 1..N-1 and predicts every step; the loss is the MSE over steps 2..T (the source's ``[:, 1:]``)
times 1/KF-MSE, so 1.0 is the Kalman filter's error. bigram: token sequences of the run's chain; the
loss is the next-token cross-entropy.
"""

from __future__ import annotations

import copy
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from testbeds.lds.model import SequenceModel


def load_item(data_dir: Path, index: int) -> dict[str, np.ndarray]:
    """System (or chain) ``index`` of the prepared data set."""
    with np.load(Path(data_dir) / "systems.npz") as arrays:
        return {key: arrays[key][index] for key in arrays.files}


def system_index(run: dict) -> int:
    """Seed s trains on system s mod n_systems, so every optimizer of a seed sees the same system; a tuning trial
    on system n_systems, which no evaluated seed uses (its choice is never scored on the system it was made on)."""
    return run["data"]["n_systems"] if "trial" in run else run["seed"] % run["data"]["n_systems"]


@partial(jax.jit, static_argnames=("sigma", "obs_noise", "batch", "length"))
def sample_lds(key, A, C, sigma: float, obs_noise: float, batch: int, length: int) -> jax.Array:
    """(batch, length, dim_y) observations of x_t = A x_{t-1} + σ ε_t from x_0 = 0."""
    k_state, k_obs = jax.random.split(key)
    noise = sigma * jax.random.normal(k_state, (length, batch, A.shape[0]))

    def advance(x, e):
        x = x @ A.T + e
        return x, x

    _, xs = jax.lax.scan(advance, jnp.zeros((batch, A.shape[0])), noise)
    ys = jnp.swapaxes(xs @ C.T, 0, 1)
    return ys + obs_noise * jax.random.normal(k_obs, ys.shape)


@partial(jax.jit, static_argnames=("batch", "length"))
def sample_chain(key, log_P, batch: int, length: int) -> jax.Array:
    """(batch, length) tokens of the chain with log-transition matrix ``log_P``, first token uniform."""
    k_first, k_rest = jax.random.split(key)
    first = jax.random.randint(k_first, (batch,), 0, log_P.shape[0])

    def advance(token, k):
        nxt = jax.random.categorical(k, log_P[token])
        return nxt, nxt

    _, rest = jax.lax.scan(advance, first, jax.random.split(k_rest, length - 1))
    return jnp.concatenate([first[:, None], rest.T], axis=1)


class Task:
    """The run's data source and loss: ``sample(key, batch)`` and ``loss(params, batch, key, train)``."""

    def __init__(self, run: dict, item: dict[str, np.ndarray], model: SequenceModel):
        self.run, self.item, self.model = run, item, model
        d = run["data"]
        self.kind, self.length = d["task"], d["seq_len"]
        self.patch = run["model"]["patch_size"]
        if self.kind == "lds":
            self.system = {
                "A": jnp.asarray(item["A"], jnp.float32),
                "C": jnp.asarray(item["C"], jnp.float32),
                "loss_scale": jnp.asarray(1.0 / float(item["kf_mse"]), jnp.float32),
            }
        else:
            self.system = {"log_P": jnp.log(jnp.asarray(item["P"], jnp.float32))}

    def using(self, system: dict) -> "Task":
        """This task with its system's arrays replaced, e.g. by a compiled step's arguments: a step that
        takes the system as input instead of embedding it as constants compiles once for every seed."""
        task = copy.copy(self)
        task.system = system
        return task

    def sample(self, key, batch: int, length: int | None = None) -> jax.Array:
        length = length or self.length
        if self.kind == "lds":
            d = self.run["data"]
            return sample_lds(key, self.system["A"], self.system["C"], d["sigma"], d["obs_noise"], batch, length)
        return sample_chain(key, self.system["log_P"], batch, length)

    def predict(self, params, batch, key=None, train: bool = False) -> jax.Array:
        """lds: a prediction for every step of ``batch`` (B, T, dim_y); bigram: logits for tokens 2..T."""
        rngs = {"dropout": key} if train else None
        if self.kind == "lds":
            out, _ = self.model.apply(
                {"params": params}, batch[:, : -self.patch], prepend=True, deterministic=not train, rngs=rngs
            )
            return out
        out, _ = self.model.apply({"params": params}, batch[:, :-1], deterministic=not train, rngs=rngs)
        return out

    def loss(self, params, batch, key=None, train: bool = False) -> jax.Array:
        out = self.predict(params, batch, key, train)
        if self.kind == "lds":
            return jnp.mean((out[:, 1:] - batch[:, 1:]) ** 2) * self.system["loss_scale"]
        return optax.softmax_cross_entropy_with_integer_labels(out, batch[:, 1:]).mean()


# ------------------------------------------------------------------------------ teacher-forced metrics
def kalman_reference(item: dict[str, np.ndarray], run: dict, ys: np.ndarray) -> float:
    """The Kalman filter's MSE on exactly the sequences and steps the model is scored on, with the same
    information: with patches of P steps, the forecast of each step from before its patch's start (1 to P
    steps ahead), so that 1.0 is the best score for every patch size."""
    from testbeds.lds.data import kalman_filter, noise_covariances

    d = run["data"]
    Q, R = noise_covariances(d["dim_x"], d["dim_y"], d["sigma"], d["obs_noise"])
    patch = run["model"]["patch_size"]
    predictions, _, _ = kalman_filter(item["A"], item["C"], Q, R, ys.astype(np.float64), patch=patch)
    return float(np.mean((ys[:, 1:] - predictions[:, 1:]) ** 2))


class Evaluator:
    """Teacher-forced metrics of a model on a fixed set of sequences, against the task's optimum."""

    def __init__(self, task: Task, key, n: int, chunk: int = 256):
        self.task, self.chunk = task, chunk
        self.batch = np.asarray(task.sample(key, n))
        if task.kind == "lds":
            self.reference = kalman_reference(task.item, task.run, self.batch)
        else:
            self.reference = float(task.item["entropy_floor"])
        self._predict = jax.jit(task.predict)

    def __call__(self, params) -> dict[str, float]:
        outs = [
            np.asarray(self._predict(params, self.batch[i : i + self.chunk]))
            for i in range(0, len(self.batch), self.chunk)
        ]
        out = np.concatenate(outs)
        if self.task.kind == "lds":
            mse = float(np.mean((out[:, 1:] - self.batch[:, 1:]) ** 2))
            return {"score": mse / self.reference, "mse": mse, "kf_mse": self.reference}
        targets = self.batch[:, 1:]
        ce = float(optax.softmax_cross_entropy_with_integer_labels(out, targets).mean())
        return {
            "ce_excess": ce - self.reference,
            "ce": ce,
            "accuracy": float(np.mean(out.argmax(-1) == targets)),
            "entropy_floor": self.reference,
        }


def init_params(run: dict, task: Task):
    """The model's initial params, built in one compiled call (op by op, each operation compiles alone)."""

    def init(key, system):
        example = task.using(system).sample(jax.random.PRNGKey(0), 1)
        if task.kind == "lds":
            return task.model.init(key, example[:, : -task.patch], prepend=True)["params"]
        return task.model.init(key, example[:, :-1])["params"]

    return jax.jit(init)(jax.random.fold_in(jax.random.PRNGKey(run["seed"]), 2), task.system)


def params_shape(run: dict, task: Task):
    """The structure and shapes of the model's params, without computing them (what a checkpoint is read into)."""
    return jax.eval_shape(lambda: init_params(run, task))
