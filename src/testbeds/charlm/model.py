"""Testbed D's character transformer in MLX: GPT-2 style, pre-LayerNorm, causal.

Token and learned position embeddings; per block x += Attn(LN x), x += MLP(LN x)
with a fused qkv projection (with bias) and a tanh-GELU MLP of width 4d; final LN
and an untied output head with bias. Every weight starts as N(0, 0.02), biases
at zero, no dropout (as the source's code).
"""

from __future__ import annotations

import math

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten, tree_map_with_path

from testbeds.speedups import enabled

LN_EPS = 1e-5
INIT_STD = 0.02
LN2 = math.log(2.0)  # nats per bit


def fused_attention(q: mx.array, k: mx.array, v: mx.array, scale: float, mask: mx.array) -> mx.array:
    return mx.fast.scaled_dot_product_attention(q, k, v, scale=scale, mask=mask)


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model: int, n_head: int, attention=fused_attention):
        super().__init__()
        self.n_head, self.attention = n_head, attention
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=True)
        self.proj = nn.Linear(d_model, d_model, bias=True)

    def __call__(self, x: mx.array, mask: mx.array) -> mx.array:
        B, T, D = x.shape
        q, k, v = mx.split(self.qkv(x), 3, axis=-1)
        q, k, v = (t.reshape(B, T, self.n_head, D // self.n_head).transpose(0, 2, 1, 3) for t in (q, k, v))
        scale = 1.0 / math.sqrt(D // self.n_head)
        y = self.attention(q, k, v, scale, mask)
        return self.proj(y.transpose(0, 2, 1, 3).reshape(B, T, D))


class Block(nn.Module):
    def __init__(self, d_model: int, n_head: int, gelu=nn.gelu_approx, attention=fused_attention):
        super().__init__()
        self.gelu = gelu
        self.ln1 = nn.LayerNorm(d_model, eps=LN_EPS)
        self.attn = CausalSelfAttention(d_model, n_head, attention)
        self.ln2 = nn.LayerNorm(d_model, eps=LN_EPS)
        self.fc = nn.Linear(d_model, 4 * d_model, bias=True)
        self.out = nn.Linear(4 * d_model, d_model, bias=True)

    def __call__(self, x: mx.array, mask: mx.array) -> mx.array:
        x = x + self.attn(self.ln1(x), mask)
        return x + self.out(self.gelu(self.fc(self.ln2(x))))


class CharTransformer(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        d_model: int,
        n_layer: int,
        n_head: int,
        ctx: int,
        gelu=nn.gelu_approx,
        attention=fused_attention,
    ):
        """``gelu`` and ``attention`` may be replaced by equivalent functions (testbeds.speedups)."""
        super().__init__()
        self.ctx = ctx
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(ctx, d_model)
        self.blocks = [Block(d_model, n_head, gelu, attention) for _ in range(n_layer)]
        self.ln_f = nn.LayerNorm(d_model, eps=LN_EPS)
        self.head = nn.Linear(d_model, vocab_size, bias=True)
        self._init_weights()

    def _init_weights(self) -> None:
        def init(path: str, p: mx.array) -> mx.array:
            if path.endswith("bias"):
                return mx.zeros_like(p)
            if path.startswith("ln") or ".ln" in path:
                return mx.ones_like(p)  # LayerNorm scale
            return INIT_STD * mx.random.normal(p.shape, dtype=p.dtype)

        self.update(tree_map_with_path(init, self.parameters()))

    def __call__(self, idx: mx.array) -> mx.array:
        T = idx.shape[1]
        if T > self.ctx:
            raise ValueError(f"sequence length {T} exceeds the model context {self.ctx}")
        x = self.tok(idx) + self.pos(mx.arange(T))
        mask = nn.MultiHeadAttention.create_additive_causal_mask(T, dtype=x.dtype)
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.ln_f(x))


def cross_entropy(logits: mx.array, targets: mx.array) -> mx.array:
    """Mean of logsumexp(logits) - logit[target] over every position, in nats."""
    return nn.losses.cross_entropy(logits, targets, reduction="mean")


def count_parameters(model: nn.Module) -> int:
    return sum(p.size for _, p in tree_flatten(model.parameters()))


def build_model(run: dict, vocab_size: int) -> CharTransformer:
    mx.random.seed(run["seed"])
    kernels = {}
    if enabled(run, "mlx_cpu_math") and mx.default_device().type == mx.cpu:
        from testbeds.speedups import mlx_cpu_math

        kernels = {"gelu": mlx_cpu_math.gelu_tanh, "attention": mlx_cpu_math.attention}
    return CharTransformer(vocab_size, **run["model"], **kernels)
