"""Kourkoutas-β and Adam agree across MLX, PyTorch and JAX on the same gradient stream.

The reference is the kbeta package's own KourkoutasSoftmaxFlex; every framework's Kβ, MLX's
(the same class with a faster update) included, must match it.
"""

import jax
import jax.numpy as jnp
import mlx.core as mx
import numpy as np
import optax
import pytest
import torch
from kbeta import KourkoutasSoftmaxFlex

from testbeds.optim import kbeta_mlx, kbeta_optax, kbeta_torch, mlx_optim
from testbeds.optim.options import kbeta_options, with_defaults
from testbeds.optim.registry import make_optimizer

from optim_streams import NATIVE_CASES, SHAPES, gradient_stream, initial_params, run_optax


def run_mlx(spec: dict, stream, lr: float = 1e-2, reference: bool = False, with_state: bool = False):
    # reference: the package's KourkoutasSoftmaxFlex itself, with the options and bucket keys our MLX runs use
    if reference:
        opt = mlx_optim.kbeta(kbeta_options(spec), lr, KourkoutasSoftmaxFlex)
    else:
        opt = make_optimizer("mlx", spec, lr)
    params = {k: mx.array(v) for k, v in initial_params().items()}
    for grads in stream:
        if mlx_optim.is_kbeta(opt):
            opt.layer_key_fn.bind(params)
        params = opt.apply_gradients({k: mx.array(v) for k, v in grads.items()}, params)
        mx.eval(params, opt.state)
    result = {k: np.array(v) for k, v in params.items()}, kbeta_mlx.bucket_diagnostics(opt)
    return (*result, {k: np.array(v) for k, v in mlx_optim.state_arrays(opt).items()}) if with_state else result


def run_torch(spec: dict, stream, lr: float = 1e-2):
    params = {k: torch.tensor(v, requires_grad=True) for k, v in initial_params().items()}
    opt = make_optimizer("torch", spec, lr, params=list(params.items()))
    for grads in stream:
        for name, p in params.items():
            p.grad = torch.tensor(grads[name])
        opt.step()
    diagnostics = opt.bucket_diagnostics() if isinstance(opt, kbeta_torch.KourkoutasBeta) else {}
    return {k: v.detach().numpy() for k, v in params.items()}, diagnostics


def run_jax(spec: dict, stream, lr: float = 1e-2):
    params, state = run_optax(make_optimizer("jax", spec, lr), stream)
    return {k: np.asarray(v) for k, v in params.items()}, kbeta_optax.bucket_diagnostics(state)


def kbeta(**options) -> dict:
    return with_defaults({"algorithm": "kbeta", "beta2_min": 0.88, "alpha": 0.93, "diagnostics": True, **options})


CASES = {
    **{f"bucket={b}": kbeta(layer_bucket=b) for b in ("global", "shape", "per-array")},
    **{f"bias_correction={bc}": kbeta(bias_correction=bc) for bc in ("none", "beta2max", "exact")},
    "warmup=10": kbeta(warmup_steps=10, bias_correction="beta2max"),
    "decay=0.98": kbeta(decay=0.98),
    "hard-amsgrad(max_ratio)": kbeta(max_ratio=0.5, bias_correction="exact"),
    "decay+max_ratio+adaptive_tiny": kbeta(
        decay=0.9,
        max_ratio=3.0,
        adaptive_tiny=True,
        tiny_denom=1e-3,
        bias_correction="beta2max",
        warmup_steps=5,
        layer_bucket="shape",
    ),
    "adaptive_tiny": kbeta(adaptive_tiny=True, tiny_denom=1e-2),
}


@pytest.fixture(scope="module")
def stream():
    return gradient_stream()


@pytest.mark.parametrize("case", list(CASES))
def test_kbeta_ports_match_the_reference(case, stream):
    spec = CASES[case]
    reference, ref_diag = run_mlx(spec, stream, reference=True)
    ports = {"mlx": run_mlx(spec, stream), "torch": run_torch(spec, stream), "jax": run_jax(spec, stream)}
    for name, (params, diag) in ports.items():
        for key in SHAPES:
            np.testing.assert_allclose(
                params[key],
                reference[key],
                rtol=1e-6,
                atol=1e-6,
                err_msg=f"{name} differs from kbeta on {key} ({case})",
            )
        assert set(diag) == set(ref_diag), f"{name} buckets {sorted(diag)} != {sorted(ref_diag)}"
        for key, (spike, beta2) in ref_diag.items():
            assert diag[key] == pytest.approx((spike, beta2), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("case", list(CASES))
def test_mlx_kbeta_state_matches_the_package(case, stream):
    """MLX's faster update leaves the package's whole state (m, v, v_max, β₂ products, norm EMAs,
    diagnostics) as the package's own update does."""
    assert type(make_optimizer("mlx", CASES[case], 1e-2)) is not KourkoutasSoftmaxFlex
    *_, reference = run_mlx(CASES[case], stream, reference=True, with_state=True)
    *_, ours = run_mlx(CASES[case], stream, with_state=True)
    assert set(ours) == set(reference)
    for key, value in reference.items():
        np.testing.assert_allclose(ours[key], value, rtol=2e-6, atol=1e-7, err_msg=f"{key} ({case})")


def test_the_stream_moves_beta2(stream):
    """The parity checks mean something only if β₂ is not stuck: spikes must pull it towards β₂min."""
    betas = [
        b for n in (4, 10, 11, 17, 24) for _, b in run_mlx(kbeta(layer_bucket="per-array"), stream[:n])[1].values()
    ]
    assert max(betas) - min(betas) > 0.05


def test_bucket_counts(stream):
    for mode, count in (("global", 1), ("shape", 4), ("per-array", 5)):
        assert len(run_torch(kbeta(layer_bucket=mode), stream[:2])[1]) == count
        assert len(run_jax(kbeta(layer_bucket=mode), stream[:2])[1]) == count
        assert len(run_mlx(kbeta(layer_bucket=mode), stream[:2])[1]) == count


# The framework-native algorithms (optim_streams.NATIVE_CASES): each framework's own implementation, held to MLX's.
@pytest.mark.parametrize("case", list(NATIVE_CASES))
def test_native_optimizers_agree_across_frameworks(case, stream):
    spec = NATIVE_CASES[case]
    reference, _ = run_mlx(spec, stream)
    start = initial_params()
    assert all(np.abs(reference[key] - start[key]).max() > 1e-2 for key in SHAPES)  # the stream moved them
    for name, (params, _) in {"torch": run_torch(spec, stream), "jax": run_jax(spec, stream)}.items():
        for key in SHAPES:
            np.testing.assert_allclose(params[key], reference[key], rtol=1e-6, atol=1e-6, err_msg=f"{name} {key}")


def test_kbeta_with_flat_beta2_is_adam(stream):
    """With β₂min = β₂max and extras off, Kβ (exact bias correction) is Adam."""
    k = kbeta(beta2_min=0.95, beta2_max=0.95, bias_correction="exact", layer_bucket="global")
    a = {"algorithm": "adam", "beta1": 0.9, "beta2": 0.95, "eps": 1e-8}
    for run in (run_torch, run_jax):
        kp, _ = run(k, stream)
        ap, _ = run(a, stream)
        for key in SHAPES:
            np.testing.assert_allclose(kp[key], ap[key], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("options", [{}, {"decay": 0.98}], ids=["fused", "foreach"])
def test_torch_state_dict_round_trip_continues_identically(options, stream):
    spec = kbeta(bias_correction="exact", **options)
    straight, _ = run_torch(spec, stream)
    params = {k: torch.tensor(v, requires_grad=True) for k, v in initial_params().items()}
    opt = make_optimizer("torch", spec, 1e-2, params=list(params.items()))
    for i, grads in enumerate(stream):
        if i == 17:  # checkpoint and reload into a fresh optimiser
            saved = torch.load(_save(opt.state_dict()), weights_only=False)
            opt = make_optimizer("torch", spec, 1e-2, params=list(params.items()))
            opt.load_state_dict(saved)
        for name, p in params.items():
            p.grad = torch.tensor(grads[name])
        opt.step()
    for key in SHAPES:
        np.testing.assert_array_equal(params[key].detach().numpy(), straight[key])


def _save(state):
    import io

    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return buffer


def test_torch_port_works_with_lr_schedulers_and_param_groups():
    w = torch.nn.Parameter(torch.ones(3))
    b = torch.nn.Parameter(torch.ones(2))
    opt = kbeta_torch.KourkoutasBeta([{"params": [w]}, {"params": [b], "lr": 0.0}], lr=0.1, layer_bucket="global")
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        (w.sum() + b.sum()).backward()
        opt.step()
        opt.zero_grad()
        sched.step()
    assert torch.all(w < 1) and torch.equal(b.detach(), torch.ones(2))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3)
    with pytest.raises(ValueError, match="alpha"):
        kbeta_torch.KourkoutasBeta([{"params": [w], "alpha": 0.5}, {"params": [b]}])


def test_optax_port_takes_a_schedule_and_its_state_is_a_checkpointable_pytree(stream):
    schedule = optax.linear_schedule(1e-2, 1e-3, 20)
    opt = kbeta_optax.kourkoutas_beta(schedule, layer_bucket="per-array", bias_correction="beta2max")
    params = {k: jnp.asarray(v) for k, v in initial_params().items()}
    state = opt.init(params)
    leaves, treedef = jax.tree_util.tree_flatten(state)
    assert all(isinstance(leaf, jax.Array) for leaf in leaves)
    state = jax.tree_util.tree_unflatten(treedef, [np.asarray(leaf) for leaf in leaves])  # e.g. from .npz
    update = jax.jit(opt.update)
    for grads in stream[:5]:
        updates, state = update({k: jnp.asarray(v) for k, v in grads.items()}, state, params)
        params = optax.apply_updates(params, updates)
    kbeta_state = state[0]  # optax.chain(scale_by_kourkoutas_beta, scale_by_learning_rate)
    assert isinstance(kbeta_state, kbeta_optax.KourkoutasBetaState) and int(kbeta_state.count) == 5
    assert set(kbeta_state.buckets) == set(SHAPES) and kbeta_state.grad_ema.shape == (len(SHAPES),)


def test_unknown_options_and_algorithms_are_rejected():
    with pytest.raises(ValueError, match="warmup"):
        make_optimizer("jax", {"algorithm": "kbeta", "warmup": 3}, 1e-3)
    with pytest.raises(ValueError, match="lamb"):
        make_optimizer("torch", {"algorithm": "lamb"}, 1e-3, params=[torch.nn.Parameter(torch.ones(1))])
    with pytest.raises(ValueError, match="layer_bucket"):
        make_optimizer("mlx", {"algorithm": "kbeta", "layer_bucket": "layers"}, 1e-3)
