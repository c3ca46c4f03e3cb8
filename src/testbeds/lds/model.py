"""SequenceModel = InputLayer + TransformerBackbone + OutputHead (Flax linen), source 002's model.

- ``PatchingInput``: observations (B, T, dim_y) -> patches of P steps (B, T/P, P·dim_y), optionally with a
  zero patch prepended (the causal shift), then a linear projection. ``EmbeddingInput``: token ids.
- ``TransformerBackbone``: pre-LN blocks, RoPE (interleaved pairs, θ = 10000) or learned positions, the
  causal mask always on, and an explicit key/value cache for generation.
- ``RegressionHead`` (P·dim_y values per token, reshaped back to steps) or ``ClassificationHead`` (logits).

Attention sees key j from query i only when j <= i (absolute positions), with or without a cache, so
a prediction never depends on its own target: with the zero patch prepended, token i holds patch i - 1
and predicts patch i.
"""

from __future__ import annotations

from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp

Cache = list  # one {"k", "v"} per block, each (B, max_len, n_head, head_dim)


def rope(x: jax.Array, positions: jax.Array, base: float = 10000.0) -> jax.Array:
    """Rotate consecutive pairs (x[2j], x[2j+1]) of the last axis by angle position·base^(-2j/d)."""
    d = x.shape[-1]
    freqs = base ** (-jnp.arange(0, d, 2, dtype=jnp.float32) / d)
    angles = positions[:, None].astype(jnp.float32) * freqs  # (S, d/2)
    cos, sin = jnp.cos(angles)[:, None, :], jnp.sin(angles)[:, None, :]  # broadcast over heads
    even, odd = x[..., 0::2], x[..., 1::2]
    return jnp.stack([even * cos - odd * sin, even * sin + odd * cos], axis=-1).reshape(x.shape)


class Attention(nn.Module):
    d_model: int
    n_head: int
    dropout: float
    use_rope: bool

    @nn.compact
    def __call__(self, x, positions, cache, deterministic: bool):
        head_dim = self.d_model // self.n_head
        project = partial(nn.DenseGeneral, features=(self.n_head, head_dim), use_bias=False)
        q, k, v = project(name="query")(x), project(name="key")(x), project(name="value")(x)
        if self.use_rope:
            q, k = rope(q, positions), rope(k, positions)
        if cache is not None:  # write this chunk at its absolute positions, attend over the whole buffer
            start = positions[0]
            k = jax.lax.dynamic_update_slice(cache["k"], k.astype(cache["k"].dtype), (0, start, 0, 0))
            v = jax.lax.dynamic_update_slice(cache["v"], v.astype(cache["v"].dtype), (0, start, 0, 0))
            cache = {"k": k, "v": v}
            key_positions = jnp.arange(k.shape[1])
        else:
            key_positions = positions
        causal = key_positions[None, :] <= positions[:, None]  # (S, L): never a later position
        scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) / jnp.sqrt(head_dim)
        weights = jax.nn.softmax(jnp.where(causal, scores, -1e9), axis=-1)
        weights = nn.Dropout(self.dropout)(weights, deterministic=deterministic)
        out = jnp.einsum("bhqk,bkhd->bqhd", weights, v)
        return nn.DenseGeneral(self.d_model, axis=(-2, -1), name="out")(out), cache


class Block(nn.Module):
    d_model: int
    n_head: int
    dropout: float
    use_rope: bool

    @nn.compact
    def __call__(self, x, positions, cache, deterministic: bool):
        attended, cache = Attention(self.d_model, self.n_head, self.dropout, self.use_rope)(
            nn.LayerNorm()(x), positions, cache, deterministic
        )
        x = x + attended
        h = nn.Dense(4 * self.d_model)(nn.LayerNorm()(x))
        h = nn.Dense(self.d_model)(nn.gelu(h))
        return x + nn.Dropout(self.dropout)(h, deterministic=deterministic), cache


class TransformerBackbone(nn.Module):
    d_model: int
    n_head: int
    n_layer: int
    dropout: float
    positional: str  # rope | learned
    max_positions: int

    @nn.compact
    def __call__(self, x, positions, cache: Cache | None, deterministic: bool):
        if self.positional == "learned":
            x = x + nn.Embed(self.max_positions, self.d_model, name="positions")(positions)[None]
        x = nn.Dropout(self.dropout)(x, deterministic=deterministic)
        new_cache = []
        for i in range(self.n_layer):
            x, layer_cache = Block(
                self.d_model, self.n_head, self.dropout, self.positional == "rope", name=f"block{i}"
            )(x, positions, None if cache is None else cache[i], deterministic)
            new_cache.append(layer_cache)
        return nn.LayerNorm(name="ln_f")(x), (new_cache if cache is not None else None)


class PatchingInput(nn.Module):
    """(B, T, dim_y) -> (B, T/P [+1], d_model): patches of P steps, the zero patch first when ``prepend``."""

    patch_size: int
    d_model: int

    @nn.compact
    def __call__(self, y, prepend: bool):
        B, T, dim_y = y.shape
        patches = y.reshape(B, T // self.patch_size, self.patch_size * dim_y)
        if prepend:
            patches = jnp.concatenate([jnp.zeros_like(patches[:, :1]), patches], axis=1)
        return nn.Dense(self.d_model)(patches)


class EmbeddingInput(nn.Module):
    vocab_size: int
    d_model: int

    @nn.compact
    def __call__(self, tokens, prepend: bool = False):
        return nn.Embed(self.vocab_size, self.d_model)(tokens)


class RegressionHead(nn.Module):
    """(B, N, d) -> (B, N·P, dim_y): each token predicts the next P steps."""

    patch_size: int
    dim_y: int

    @nn.compact
    def __call__(self, h):
        B, N, _ = h.shape
        return nn.Dense(self.patch_size * self.dim_y)(h).reshape(B, N * self.patch_size, self.dim_y)


class ClassificationHead(nn.Module):
    vocab_size: int

    @nn.compact
    def __call__(self, h):
        return nn.Dense(self.vocab_size)(h)


class SequenceModel(nn.Module):
    task: str  # lds | bigram
    d_model: int
    n_head: int
    n_layer: int
    dropout: float
    positional: str
    max_positions: int
    patch_size: int = 1
    dim_y: int = 1
    vocab_size: int = 0

    def setup(self):
        if self.task == "lds":
            self.input_layer = PatchingInput(self.patch_size, self.d_model)
            self.head = RegressionHead(self.patch_size, self.dim_y)
        else:
            self.input_layer = EmbeddingInput(self.vocab_size, self.d_model)
            self.head = ClassificationHead(self.vocab_size)
        self.backbone = TransformerBackbone(
            self.d_model, self.n_head, self.n_layer, self.dropout, self.positional, self.max_positions
        )

    def __call__(self, inputs, start=0, cache: Cache | None = None, prepend: bool = False, deterministic: bool = True):
        """Outputs for ``inputs`` placed at positions start, start + 1, ...; returns (outputs, cache)."""
        x = self.input_layer(inputs, prepend)
        positions = start + jnp.arange(x.shape[1])
        h, cache = self.backbone(x, positions, cache, deterministic)
        return self.head(h), cache


def count_parameters(params) -> int:
    return int(sum(p.size for p in jax.tree_util.tree_leaves(params)))


def empty_cache(model: SequenceModel, batch: int, max_len: int) -> Cache:
    shape = (batch, max_len, model.n_head, model.d_model // model.n_head)
    return [{"k": jnp.zeros(shape), "v": jnp.zeros(shape)} for _ in range(model.n_layer)]


@partial(jax.jit, static_argnames=("model", "steps"))
def generate(model: SequenceModel, params, prompt: jax.Array, steps: int, key: jax.Array | None = None) -> jax.Array:
    """Continue ``prompt`` autoregressively with a KV cache, feeding back the model's own outputs.

    lds: ``prompt`` (B, W, dim_y) with W and ``steps`` multiples of P; returns the predicted (B, steps, dim_y)
    (each generated patch is the regression output, fed back as the next input patch).
    bigram: ``prompt`` (B, W) token ids; returns (B, steps) tokens sampled from the softmax with ``key``.
    """
    P = model.patch_size if model.task == "lds" else 1
    prompt_tokens = prompt.shape[1] // P + (model.task == "lds")  # + the prepended zero patch
    cache = empty_cache(model, prompt.shape[0], prompt_tokens + steps // P)
    out, cache = model.apply({"params": params}, prompt, 0, cache, prepend=model.task == "lds")
    key = jax.random.PRNGKey(0) if key is None else key

    def last(out):  # what the last token predicts: P steps (lds) or the next token's logits (bigram)
        return out[:, -P:] if model.task == "lds" else out[:, -1]

    def step(carry, k):
        cache, position, previous = carry
        nxt = previous if model.task == "lds" else jax.random.categorical(k, previous)[:, None]
        out, cache = model.apply({"params": params}, nxt, position, cache)
        return (cache, position + 1, last(out)), nxt

    keys = jax.random.split(key, steps // P)
    _, emitted = jax.lax.scan(step, (cache, prompt_tokens, last(out)), keys)  # (steps/P, B, P[, dim_y])
    emitted = jnp.moveaxis(emitted, 0, 1)
    return emitted.reshape(prompt.shape[0], steps, *prompt.shape[2:])


def build_model(run: dict) -> SequenceModel:
    m, d = run["model"], run["data"]
    return SequenceModel(
        task=d["task"],
        d_model=m["d_model"],
        n_head=m["n_head"],
        n_layer=m["n_layer"],
        dropout=m["dropout"],
        positional=m["positional"],
        max_positions=m["max_positions"],
        patch_size=m["patch_size"],
        dim_y=d["dim_y"],
        vocab_size=d["vocab_size"],
    )
