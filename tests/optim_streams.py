"""What the optimiser tests share: one gradient stream with spikes, the initial parameters it starts from, an
optax runner, and the framework-native algorithms' cases (tests/test_optim_parity.py holds each framework's
implementation to MLX's on them)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

SHAPES = {"embed": (11, 6), "w1": (6, 6), "w2": (6, 6), "bias": (6,), "head": (6, 5)}
STEPS = 40


def gradient_stream(seed: int = 0, steps: int = STEPS) -> list[dict[str, np.ndarray]]:
    """Gaussian gradients with spikes (x30 on some steps and tensors) so that β₂ really moves."""
    rng = np.random.default_rng(seed)
    stream = []
    for step in range(steps):
        grads = {}
        for i, (name, shape) in enumerate(SHAPES.items()):
            g = rng.normal(size=shape).astype(np.float32) * (0.1 + 0.05 * i)
            if (step + i) % 7 == 3:
                g *= 30.0
            grads[name] = g
        stream.append(grads)
    return stream


def initial_params(seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.normal(size=shape).astype(np.float32) for name, shape in SHAPES.items()}


def run_optax(opt, stream):
    """The stream through an optax optimiser from the initial parameters, jit-compiled: (params, state)."""
    params = {k: jnp.asarray(v) for k, v in initial_params().items()}
    state = opt.init(params)

    @jax.jit
    def step(params, state, grads):
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    for grads in stream:
        params, state = step(params, state, {k: jnp.asarray(v) for k, v in grads.items()})
    return params, state


# the framework-native algorithms: each framework's own implementation
NATIVE_CASES = {
    "adam": {"algorithm": "adam", "beta1": 0.9, "beta2": 0.95, "eps": 1e-8},
    "adamw": {"algorithm": "adamw", "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.05},
    "sgd-nesterov": {"algorithm": "sgd", "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    "sgd-heavy-ball": {"algorithm": "sgd", "momentum": 0.8, "nesterov": False},
}
