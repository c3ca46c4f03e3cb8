"""The JAX floor's compiled step takes the learning rate and the weight decay as arguments: the same numbers,
bit for bit, as the step with them compiled in as constants, and one compilation for every trial."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from testbeds.jax_loop import hyperparameters, registry_optimizer, traced_options
from testbeds.optim.options import ALGORITHMS, resolve_options
from testbeds.optim.registry import make_optimizer
from testbeds.schedule import warmup_cosine

from optim_streams import gradient_stream, initial_params, run_optax

STEPS = 40
JAX_ALGORITHMS = sorted(name for name, entry in ALGORITHMS.items() if "jax" in entry.factories)


def spec_of(algorithm: str) -> dict:
    spec = {"algorithm": algorithm}
    if "weight_decay" in resolve_options(spec):
        spec["weight_decay"] = 0.03
    return spec


def rates(peak: float = 3e-2) -> list[float]:
    """The loop's rates of every step (warm-up + cosine), as the training loop computes them."""
    return [peak * warmup_cosine(t, 8, STEPS, 0.1) for t in range(STEPS)]


def as_schedule(values: list[float]) -> optax.Schedule:
    """The same float32 rates as an optax schedule, compiled into the optimiser as constants."""
    table = jnp.asarray(np.float32(values))
    return lambda count: table[count]


def run_traced(spec: dict, values: list[float], stream, step_fn=None):
    """The stream through the registry's optimiser built inside the compiled step from ``hyperparameters``."""
    options = traced_options(spec)
    params = {k: jnp.asarray(v) for k, v in initial_params().items()}
    state = registry_optimizer(spec, hyperparameters(values[0], options)).init(params)

    def step(params, state, grads, hyper):
        updates, state = registry_optimizer(spec, hyper).update(grads, state, params)
        return optax.apply_updates(params, updates), state

    step_fn = step_fn or jax.jit(step)
    for t, grads in enumerate(stream):
        hyper = hyperparameters(values[t], options)
        params, state = step_fn(params, state, {k: jnp.asarray(v) for k, v in grads.items()}, hyper)
    return {k: np.asarray(v) for k, v in params.items()}


@pytest.mark.parametrize("algorithm", JAX_ALGORITHMS)
def test_traced_hyperparameters_compute_what_constants_compute(algorithm):
    spec, values, stream = spec_of(algorithm), rates(), gradient_stream(steps=STEPS)
    constants, _ = run_optax(make_optimizer("jax", spec, as_schedule(values)), stream)
    traced = run_traced(spec, values, stream)
    for name, value in constants.items():
        np.testing.assert_array_equal(traced[name], np.asarray(value), err_msg=f"{algorithm}: {name}")


def test_every_trial_compiles_the_same_program():
    """The persistent compilation cache is keyed on the lowered program: trials that differ only in learning
    rate and weight decay must lower to the same one."""
    params = {k: jnp.asarray(v) for k, v in initial_params().items()}
    grads = {k: jnp.asarray(v) for k, v in gradient_stream(steps=1)[0].items()}
    programs = set()
    for peak, decay in [(1e-3, 0.01), (3e-2, 0.2), (1e-2, 0.05)]:
        spec = {"algorithm": "adamw", "weight_decay": decay}  # a trial's settings, as its job resolves them

        def step(params, state, grads, hyper, spec=spec):
            updates, state = registry_optimizer(spec, hyper).update(grads, state, params)
            return optax.apply_updates(params, updates), state

        hyper = hyperparameters(rates(peak)[3], traced_options(spec))
        state = registry_optimizer(spec, hyper).init(params)
        programs.add(jax.jit(step).lower(params, state, grads, hyper).as_text())
    assert len(programs) == 1


def test_a_zero_weight_decay_stays_a_constant():
    # optax skips a decay that is the constant zero; a traced zero would add 0 * params
    def at(spec: dict, step: int) -> dict:
        return hyperparameters(rates()[step], traced_options(spec))

    assert "weight_decay" not in at({"algorithm": "sgd", "weight_decay": 0.0}, 0)
    assert set(at({"algorithm": "adamw"}, 5)) == {"learning_rate", "weight_decay"}
    assert set(at({"algorithm": "kbeta"}, 5)) == {"learning_rate"}
