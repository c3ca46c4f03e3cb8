"""Element-wise functions for MLX's CPU backend, where its ``tanh`` and ``exp`` are slow (see
docs/performance.md): a rational tanh, an exp from range reduction and a Taylor polynomial, the tanh GELU
and causal attention's softmax built on them, each with its gradient from the output. Used only when a
workload lists ``mlx_cpu_math`` in its ``speedups`` and runs on the CPU; the tests hold each to the
framework's own function.
"""

from __future__ import annotations

import math

import mlx.core as mx

GELU_C = math.sqrt(2.0 / math.pi)


# tanh(x) = x P(x²) / Q(x²) for |x| < 9 (beyond, float32 tanh is ±1): a rational fit of tanh on [0, 9]
# (iteratively reweighted least squares on relative error, numpy float64), relative error 7e-9 in exact
# arithmetic and at most 3.4e-7 (6 ulp) evaluated in float32 (MLX's own tanh: 1e-7); the GELU's gradient is
# then within 5e-6 of the exact one.
TANH_LIMIT = 9.0
TANH_P = (
    1.0,
    0.13085769718237134,
    0.003105884947930193,
    1.1173481663176062e-05,
    -2.0297103753403824e-08,
    5.309451704761734e-11,
    -8.562057758431916e-14,
)
TANH_Q = (1.0, 0.4641909889068905, 0.024502959614319964, 0.0002548894696758592)


def polynomial(s: mx.array, coefficients: tuple[float, ...]) -> mx.array:
    """Σ c_k s^k by Horner's rule."""
    out = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        out = out * s + c
    return out


@mx.custom_function
def tanh(x: mx.array) -> mx.array:
    """tanh from multiply-adds and one division, which ``mx.compile`` fuses. Exactly ±1 beyond ±9. Its
    gradient is 1 - tanh², from the output."""
    inside = mx.clip(x, -TANH_LIMIT, TANH_LIMIT)
    s = inside * inside
    return mx.where(mx.abs(x) < TANH_LIMIT, inside * polynomial(s, TANH_P) / polynomial(s, TANH_Q), mx.sign(x))


@tanh.vjp
def _tanh_vjp(primals, cotangent, output):
    return cotangent * (1 - output * output)


# e^x for x <= 0 (the softmax's shifted scores): x = n ln2 + r with |r| <= ln2/2 (ln2 in two parts, so n ln2
# is exact), e^r by its Taylor polynomial to r⁷ (relative error 1e-7; MLX's own exp: 4e-6) and 2ⁿ built from
# the float's exponent bits.
LOG2E = 1.4426950408889634
LN2_HI, LN2_LO = 0.693145751953125, 1.428606765330187e-06
EXP_TAYLOR = tuple(1 / math.factorial(k) for k in range(8))
ROUNDING = 12582912.0  # 1.5 * 2**23: adding and subtracting it rounds a float32 to the nearest integer
EXP_FLOOR = -87.0  # e^x below float32's smallest normal number: 0


def exp_nonpositive(x: mx.array) -> mx.array:
    inside = mx.maximum(x, EXP_FLOOR)
    n = (inside * LOG2E + ROUNDING) - ROUNDING
    r = (inside - n * LN2_HI) - n * LN2_LO
    two_to_n = mx.view(mx.left_shift(n.astype(mx.int32) + 127, 23), mx.float32)
    return mx.where(x < EXP_FLOOR, 0.0, polynomial(r, EXP_TAYLOR) * two_to_n)  # NaN stays NaN


@mx.custom_function
def softmax(x: mx.array) -> mx.array:
    """Softmax over the last axis with the exp above; its gradient comes from the output."""
    e = exp_nonpositive(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@softmax.vjp
def _softmax_vjp(primals, cotangent, output):
    return output * (cotangent - (output * cotangent).sum(axis=-1, keepdims=True))


def attention(q: mx.array, k: mx.array, v: mx.array, scale: float, mask: mx.array) -> mx.array:
    """softmax(scale q kᵀ + mask) v with the softmax above: on the CPU MLX's fused attention kernel falls
    back to separate operations with MLX's exp."""
    return softmax((q * scale) @ k.swapaxes(-1, -2) + mask) @ v


def gelu_tanh(x: mx.array) -> mx.array:
    """The tanh GELU of ``nn.gelu_approx``, with x³ written as x·x·x (MLX's CPU ``power``, forward and
    gradient, costs as much as its ``tanh``) and the ``tanh`` above."""
    return 0.5 * x * (1 + tanh(GELU_C * (x + 0.044715 * (x * x * x))))
