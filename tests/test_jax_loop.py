"""The JAX floor's compiled step takes the learning rate and the weight decay as arguments: the same numbers,
bit for bit, as the step with them compiled in as constants, and one compilation for every trial."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from test_optim_parity import gradient_stream, initial_params, run_optax
from testbeds.jax_loop import hyperparameters, learning_rates, registry_optimizer, traced_options
from testbeds.optim.jax_optim import warmup_cosine_schedule
from testbeds.optim.options import ALGORITHMS, resolve_options
from testbeds.optim.registry import make_optimizer

STEPS = 40
JAX_ALGORITHMS = sorted(name for name, entry in ALGORITHMS.items() if "jax" in entry.factories)


def spec_of(algorithm: str) -> dict:
    spec = {"algorithm": algorithm}
    if "weight_decay" in resolve_options(spec):
        spec["weight_decay"] = 0.03
    return spec


def schedule(peak: float = 3e-2) -> optax.Schedule:
    return warmup_cosine_schedule(peak, 8, STEPS, 0.1)


def run_traced(spec: dict, sched: optax.Schedule, stream, step_fn=None):
    """The stream through the registry's optimiser built inside the compiled step from ``hyperparameters``."""
    rates, options = learning_rates(sched, len(stream)), traced_options(spec)
    params = {k: jnp.asarray(v) for k, v in initial_params().items()}
    state = registry_optimizer(spec, hyperparameters(rates, options, 0)).init(params)

    def step(params, state, grads, hyper):
        updates, state = registry_optimizer(spec, hyper).update(grads, state, params)
        return optax.apply_updates(params, updates), state

    step_fn = step_fn or jax.jit(step)
    for t, grads in enumerate(stream):
        hyper = hyperparameters(rates, options, t)
        params, state = step_fn(params, state, {k: jnp.asarray(v) for k, v in grads.items()}, hyper)
    return {k: np.asarray(v) for k, v in params.items()}


@pytest.mark.parametrize("algorithm", JAX_ALGORITHMS)
def test_traced_hyperparameters_compute_what_constants_compute(algorithm):
    spec, sched, stream = spec_of(algorithm), schedule(), gradient_stream(steps=STEPS)
    constants, _ = run_optax(make_optimizer("jax", spec, sched), stream)
    traced = run_traced(spec, sched, stream)
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

        hyper = hyperparameters(learning_rates(schedule(peak), STEPS), traced_options(spec), 3)
        state = registry_optimizer(spec, hyper).init(params)
        programs.add(jax.jit(step).lower(params, state, grads, hyper).as_text())
    assert len(programs) == 1


def test_a_zero_weight_decay_stays_a_constant():
    # optax skips a decay that is the constant zero; a traced zero would add 0 * params
    rates = learning_rates(schedule(), STEPS)

    def at(spec: dict, step: int) -> dict:
        return hyperparameters(rates, traced_options(spec), step)

    assert "weight_decay" not in at({"algorithm": "sgd", "weight_decay": 0.0}, 0)
    assert set(at({"algorithm": "adamw"}, 5)) == {"learning_rate", "weight_decay"}
    assert set(at({"algorithm": "kbeta"}, 5)) == {"learning_rate"}
