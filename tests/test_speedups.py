"""The CPU speed-ups: each function of mlx_cpu_math against float64 or MLX's own, and the setting that
switches them on only where a run lists them."""

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from testbeds.charlm.model import build_model
from testbeds.speedups import enabled
from testbeds.speedups.mlx_cpu_math import attention, exp_nonpositive, gelu_tanh, softmax, tanh

from helpers import tiny_run


def test_tanh_is_float32_accurate_with_its_gradient():
    x = np.linspace(-12, 12, 240001).astype(np.float32)
    exact = np.tanh(x.astype(np.float64))
    ours = np.array(tanh(mx.array(x)))
    np.testing.assert_allclose(ours, exact, rtol=0, atol=4e-7)  # ~6 ulp near ±1 (MLX's own tanh: 1e-7)
    assert np.all(ours[np.abs(x) >= 9] == np.sign(x[np.abs(x) >= 9]))  # saturates exactly, as float32 tanh
    assert np.all(ours[x > 0] > 0) and np.array_equal(ours, -ours[::-1])  # sign and odd symmetry
    grad = np.array(mx.grad(lambda v: tanh(v).sum())(mx.array(x)))
    np.testing.assert_allclose(grad, 1 - exact**2, rtol=0, atol=8e-7)


def test_gelu_is_mlx_tanh_gelu_with_its_gradient():
    x = np.linspace(-12, 12, 24001).astype(np.float32)
    x64 = x.astype(np.float64)
    inner = np.sqrt(2 / np.pi) * (x64 + 0.044715 * x64**3)
    exact = 0.5 * x64 * (1 + np.tanh(inner))
    exact_grad = 0.5 * (1 + np.tanh(inner)) + 0.5 * x64 * (1 - np.tanh(inner) ** 2) * np.sqrt(2 / np.pi) * (
        1 + 3 * 0.044715 * x64**2
    )
    np.testing.assert_allclose(np.array(gelu_tanh(mx.array(x))), exact, rtol=2e-7, atol=1e-6)
    grad = np.array(mx.grad(lambda v: gelu_tanh(v).sum())(mx.array(x)))
    np.testing.assert_allclose(grad, exact_grad, rtol=0, atol=6e-6)  # tanh's error times up to ~8


def test_exp_is_float32_accurate_below_zero():
    x = np.concatenate([np.linspace(-87, 0, 870001), [-87.5, -100, -np.inf, np.nan]]).astype(np.float32)
    ours = np.array(exp_nonpositive(mx.array(x))).astype(np.float64)
    normal = x >= -87
    exact = np.exp(x[normal].astype(np.float64))
    np.testing.assert_allclose(ours[normal], exact, rtol=2e-7, atol=0)  # MLX's own exp: 4e-6
    assert np.array_equal(ours[-4:-1], [0, 0, 0]) and np.isnan(ours[-1])


def test_softmax_is_mlx_softmax_with_its_gradient():
    x = mx.random.normal((3, 5, 40), key=mx.random.key(0)) * 6
    x = mx.where(mx.random.uniform(shape=x.shape, key=mx.random.key(1)) < 0.3, -mx.inf, x)  # masked scores
    x[..., 0] = 1.0  # no row fully masked
    np.testing.assert_allclose(np.array(softmax(x)), np.array(mx.softmax(x, axis=-1, precise=True)), atol=1e-7)
    weights = mx.random.normal(x.shape, key=mx.random.key(2))
    ours, theirs = (
        np.array(mx.grad(lambda v, f=f: (f(v) * weights).sum())(x))
        for f in (softmax, lambda v: mx.softmax(v, axis=-1, precise=True))
    )
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_cpu_attention_is_mlx_fused_attention_with_its_gradients():
    q, k, v = (mx.random.normal((2, 3, 16, 8), key=mx.random.key(i)) for i in range(3))
    mask = nn.MultiHeadAttention.create_additive_causal_mask(16)

    def ours(q, k, v):
        return attention(q, k, v, 8**-0.5, mask)

    def fused(q, k, v):
        return mx.fast.scaled_dot_product_attention(q, k, v, scale=8**-0.5, mask=mask)

    np.testing.assert_allclose(np.array(ours(q, k, v)), np.array(fused(q, k, v)), atol=1e-6)
    for a, b in zip(
        *(mx.grad(lambda q, k, v, f=f: (f(q, k, v) * q).sum(), argnums=(0, 1, 2))(q, k, v) for f in (ours, fused))
    ):
        np.testing.assert_allclose(np.array(a), np.array(b), atol=1e-5)


def test_charlm_uses_the_reference_functions_unless_the_run_lists_mlx_cpu_math(config):
    run = tiny_run(config)
    assert not enabled(run, "mlx_cpu_math")
    reference = build_model(run, 40)
    assert reference.blocks[0].gelu is nn.gelu_approx
    run["speedups"] = [*run["speedups"], "mlx_cpu_math"]
    fast = build_model(run, 40)  # same seed: same weights
    assert fast.blocks[0].gelu is gelu_tanh and fast.blocks[0].attn.attention is attention
    idx = mx.array(np.random.default_rng(0).integers(0, 40, size=(2, 32)))
    np.testing.assert_allclose(np.array(fast(idx)), np.array(reference(idx)), atol=2e-5)
