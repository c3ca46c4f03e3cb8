"""Lion, Adafactor, Muon and Schedule-Free AdamW: every framework's optimiser (from its library, configured or
composed to the definition of docs/optimizers.md) against the definition in NumPy (tests/optim_reference.py),
on one gradient stream with a learning rate that changes every step."""

import jax.numpy as jnp
import mlx.core as mx
import numpy as np
import pytest
import torch

from testbeds.optim import jax_optim, mlx_optim, torch_optim
from testbeds.optim.options import ALGORITHMS, is_hidden_matrix, resolve_options
from testbeds.optim.registry import make_optimizer

from optim_reference import newton_schulz, run, schedule_free_eval_params
from optim_streams import NATIVE_CASES, SHAPES, gradient_stream, initial_params, run_optax

STEPS = 30


def warmup_then_decay(peak: float, steps: int = STEPS) -> list[float]:
    return [peak * min(1.0, (t + 1) / 5) * (1 - 0.5 * t / steps) for t in range(steps)]


def run_torch(spec, stream, lrs):
    params = {k: torch.tensor(v, requires_grad=True) for k, v in initial_params().items()}
    opt = make_optimizer("torch", spec, lrs[0], params=list(params.items()))
    for grads, lr in zip(stream, lrs):
        for group in opt.param_groups:
            group["lr"] = lr
        for name, p in params.items():
            p.grad = torch.tensor(grads[name])
        opt.step()
    model = torch.nn.ParameterDict(params)
    with torch_optim.evaluation_parameters(opt, model):
        evaluated = {k: v.detach().numpy().copy() for k, v in params.items()}
    return {k: v.detach().numpy() for k, v in params.items()}, evaluated


def run_jax(spec, stream, lrs):
    table = jnp.asarray(lrs, dtype=jnp.float32)
    opt = make_optimizer("jax", spec, lambda count: table[jnp.minimum(count, len(lrs) - 1)])
    params, state = run_optax(opt, stream)
    evaluated = jax_optim.evaluation_params(state, params)
    return {k: np.asarray(v) for k, v in params.items()}, {k: np.asarray(v) for k, v in evaluated.items()}


def run_mlx(spec, stream, lrs):
    opt = make_optimizer("mlx", spec, lrs[0])
    params = {k: mx.array(v) for k, v in initial_params().items()}
    mlx_optim.init_state(opt, params)
    for grads, lr in zip(stream, lrs):
        opt.learning_rate = lr
        params = opt.apply_gradients({k: mx.array(v) for k, v in grads.items()}, params)
        mx.eval(params, opt.state)
    evaluated = mlx_optim.evaluation_parameters(opt, params)
    return {k: np.array(v) for k, v in params.items()}, {k: np.array(v) for k, v in evaluated.items()}


RUNNERS = {"torch": run_torch, "jax": run_jax, "mlx": run_mlx}

CASES = {
    "lion": ({"algorithm": "lion", "weight_decay": 0.3}, 3e-3),
    "adafactor": ({"algorithm": "adafactor"}, 3e-2),
    "adafactor-relative-step": ({"algorithm": "adafactor", "decay_rate": 0.6, "clip_threshold": 2.0}, 0.8),
    # a parameter-scale floor above the parameters' RMS: every framework must honour it (optax.adafactor keeps 1e-3)
    "adafactor-eps-scale": ({"algorithm": "adafactor", "eps_scale": 3.0}, 3e-2),
    "muon": ({"algorithm": "muon", "weight_decay": 0.1}, 1e-2),
    "muon-heavy-ball": ({"algorithm": "muon", "nesterov": False, "ns_steps": 3, "momentum": 0.9}, 1e-2),
    "schedule_free_adamw": ({"algorithm": "schedule_free_adamw", "weight_decay": 0.05}, 1e-2),
}
# torch.optim.Muon runs Newton-Schulz in bfloat16 (not configurable): its updates agree to about 1%
TOLERANCE = {("torch", "muon"): 3e-2, ("torch", "muon-heavy-ball"): 3e-2}


@pytest.fixture(scope="module")
def stream():
    return gradient_stream(steps=STEPS)


def relative_error(ours: np.ndarray, reference: np.ndarray, start: np.ndarray) -> float:
    """Of the parameters' change over the stream, so a small step can't hide in the parameters' size."""
    return float(np.abs((ours - start) - (reference - start)).max() / np.abs(reference - start).max())


@pytest.mark.parametrize("framework", list(RUNNERS))
@pytest.mark.parametrize("case", list(CASES))
def test_each_framework_follows_the_definition(case, framework, stream):
    spec, peak = CASES[case]
    lrs = warmup_then_decay(peak)
    algorithm = spec["algorithm"]
    options = resolve_options(spec)
    start = initial_params()
    reference, state = run(algorithm, options, start, stream, lrs)
    params, evaluated = RUNNERS[framework](spec, stream, lrs)
    tolerance = TOLERANCE.get((framework, case), 2e-4)
    for key in SHAPES:
        assert np.abs(reference[key] - start[key]).max() > 1e-3  # the stream moved it
        assert relative_error(params[key], reference[key], start[key]) < tolerance, f"{framework} {case} {key}"
    if algorithm == "schedule_free_adamw":
        averaged = schedule_free_eval_params(reference, state, options)
        for key in SHAPES:
            assert relative_error(evaluated[key], averaged[key], start[key]) < tolerance
            assert np.abs(averaged[key] - reference[key]).max() > 1e-3  # x is not y
    else:
        for key in SHAPES:
            np.testing.assert_array_equal(evaluated[key], params[key])


def test_every_algorithm_has_a_parity_case():
    native = {spec["algorithm"] for spec in NATIVE_CASES.values()}  # tests/test_optim_parity.py, as Kβ
    assert set(ALGORITHMS) == {"kbeta"} | native | {spec["algorithm"] for spec, _ in CASES.values()}


def test_the_reference_newton_schulz_orthogonalises():
    """Its singular values land near 1 (within the quintic's band, 0.5-1.5), whatever the input's scale."""
    g = np.random.default_rng(0).normal(size=(6, 9)) * 30
    singular = np.linalg.svd(newton_schulz(g, 5), compute_uv=False)
    assert singular.min() > 0.5 and singular.max() < 1.5


def test_muon_partition():
    """Muon takes the hidden 2-D weights; embeddings, the head, input features, vectors and 3-D kernels take
    AdamW."""
    hidden = ["blocks.0.attn.qkv.weight", "layers/1/mlp/Dense_0/kernel", "w1", "blocks.1.fc.weight"]
    rest = ["tok.weight", "pos.weight", "embed.weight", "alpha_embed.weight", "head.weight", "fourier.w"]
    rest += ["input_layer/Dense_0/kernel", "backbone/positions/embedding", "model.lm_head.weight"]
    assert all(is_hidden_matrix(path, (4, 4)) for path in hidden)
    assert not any(is_hidden_matrix(path, (4, 4)) for path in rest)
    assert not is_hidden_matrix("blocks.0.attn.qkv.bias", (4,))
    assert not is_hidden_matrix("backbone/block_0/attn/query/kernel", (8, 2, 4))


def test_the_mlx_schedule_free_port_reads_this_steps_rate_from_a_callable_schedule():
    """Built with a schedule, it must step exactly as when the loop sets each step's rate (mutation: the averaging
    weight read from the rate before the schedule advances, one step late)."""
    import mlx.core as mx

    from testbeds.optim import mlx_optim

    def rate(step):
        return 0.01 * (step + 1)

    grads = [{"w": mx.array(np.random.default_rng(t).normal(size=(3, 2)), dtype=mx.float32)} for t in range(6)]
    scheduled, fixed = mlx_optim.ScheduleFreeAdamW(rate), mlx_optim.ScheduleFreeAdamW(rate(0))
    params = {"scheduled": {"w": mx.ones((3, 2))}, "fixed": {"w": mx.ones((3, 2))}}
    for t, g in enumerate(grads):
        fixed.learning_rate = rate(t)
        params["scheduled"] = scheduled.apply_gradients(g, params["scheduled"])
        params["fixed"] = fixed.apply_gradients(g, params["fixed"])
    np.testing.assert_allclose(np.array(params["scheduled"]["w"]), np.array(params["fixed"]["w"]), rtol=1e-6)
