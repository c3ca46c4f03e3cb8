"""Kourkoutas-β for JAX: an ``optax.GradientTransformation`` matching kbeta's KourkoutasSoftmaxFlex.

The algorithm is the one of ``kbeta_torch`` (docs/optimizers.md). Buckets are derived from the pytree
structure, which is static under ``jax.jit``: ``global`` (one), ``shape`` (leaves of equal shape) or
``per-array`` (each leaf, keyed by its path such as ``blocks/0/attn/kernel``). The per-bucket scalars
(gradient-norm EMA, last sun-spike, last β₂) are vectors over the buckets and β₂ is computed for all
buckets at once: one scalar operation per bucket would cost XLA a small kernel each, more than the whole
element-wise update on a 10M-parameter model. The element-wise update is written with tree maps and the
state is a NamedTuple of arrays, as optax writes Adam; the last step's sun-spike and β₂ are keyed by bucket.

``scale_by_kourkoutas_beta(**options)`` is the transformation; ``kourkoutas_beta(learning_rate, **options)``
chains it with ``optax.scale_by_learning_rate`` (a float or an optax schedule), as ``optax.adam`` is built.
``adaptive_tiny`` needs ``params`` in ``update``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from testbeds.optim.options import kbeta_options


class KourkoutasBetaState(NamedTuple):
    """Kβ's state, a pytree of arrays as optax's (``ScaleByAdamState``): checkpointable as it is."""

    count: jax.Array  # int32, updates done so far
    m: optax.Updates
    v: optax.Updates
    v_max: optax.Updates | None  # like params, or None when neither decay nor max_ratio is set
    beta2_cumprod: optax.Updates  # a float32 scalar per leaf: the product of its β₂ so far (exact bias correction)
    grad_ema: jax.Array  # float32 [buckets], in first-seen order
    last_spike: dict[str, jax.Array]  # bucket -> sun-spike of the last step
    last_beta2: dict[str, jax.Array]  # bucket -> β₂ of the last step

    @property
    def buckets(self) -> tuple[str, ...]:
        return tuple(self.last_beta2)


def _path_key(path) -> str:
    parts = []
    for entry in path:
        for attr in ("key", "idx", "name"):
            if hasattr(entry, attr):
                parts.append(str(getattr(entry, attr)))
                break
        else:
            parts.append(str(entry))
    return "/".join(parts)


def bucket_keys(tree, mode: str) -> list[str]:
    """One bucket key per leaf of ``tree``, in ``jax.tree_util.tree_leaves`` order."""
    leaves_with_path = jax.tree_util.tree_flatten_with_path(tree)[0]
    if mode == "global":
        return ["global"] * len(leaves_with_path)
    if mode == "shape":
        return ["shape:" + "x".join(str(n) for n in leaf.shape) for _, leaf in leaves_with_path]
    return [_path_key(path) for path, _ in leaves_with_path]


def bucket_index(tree, mode: str) -> tuple[tuple[str, ...], list[int]]:
    """The buckets in first-seen order, and each leaf's position among them."""
    keys = bucket_keys(tree, mode)
    buckets = tuple(dict.fromkeys(keys))
    return buckets, [buckets.index(k) for k in keys]


def kourkoutas_beta(learning_rate=1e-3, **options) -> optax.GradientTransformation:
    """Kourkoutas-β as optax writes its optimisers: the scaling chained with the learning rate's."""
    return optax.chain(scale_by_kourkoutas_beta(**options), optax.scale_by_learning_rate(learning_rate))


def scale_by_kourkoutas_beta(**options) -> optax.GradientTransformation:
    """Kβ's step direction before the learning rate: bias-corrected m / (sqrt(v̂) + eps) with each bucket's
    β₂ from its sun-spike, clipped to ±max_ratio when that is set (the reference clips lr times it)."""
    o = kbeta_options(options)
    mode = o["layer_bucket"]
    keep_vmax = o["decay"] is not None or o["max_ratio"] is not None
    f32 = jnp.float32

    def init_fn(params):
        buckets, _ = bucket_index(params, mode)
        return KourkoutasBetaState(
            count=jnp.zeros((), jnp.int32),
            m=optax.tree_utils.tree_zeros_like(params),
            v=optax.tree_utils.tree_zeros_like(params),
            v_max=optax.tree_utils.tree_zeros_like(params) if keep_vmax else None,
            beta2_cumprod=jax.tree.map(lambda _: jnp.ones((), f32), params),
            grad_ema=jnp.zeros(len(buckets), f32),
            last_spike={b: jnp.zeros((), f32) for b in buckets},
            last_beta2={b: jnp.zeros((), f32) for b in buckets},
        )

    def bucket_beta2(sum_sq, ema, t):
        """β₂, sun-spike and the new EMA of every bucket, from the buckets' squared gradient norms."""
        g_norm = jnp.sqrt(sum_sq)
        alpha = jnp.asarray(o["alpha"], f32)
        ema = alpha * ema + (1 - alpha) * g_norm
        warming = (t <= o["warmup_steps"]).astype(f32)
        raw = g_norm / (ema + o["tiny_spike"])
        sun = (1 - warming) * (raw / (1 + raw))
        beta2 = warming * 0.5 * (o["beta2_min"] + o["beta2_max"]) + (1 - warming) * (
            o["beta2_max"] - (o["beta2_max"] - o["beta2_min"]) * sun
        )
        return beta2, sun, ema

    def direction(m, v_hat, inv_sqrt_bc2, step_size, p=None):
        """One leaf's update: m / (sqrt(v̂) + eps), both bias-corrected unless that is off."""
        denom = jnp.sqrt(v_hat)
        if o["bias_correction"] == "none":
            numerator = m
        else:
            numerator, denom = step_size * m, denom * inv_sqrt_bc2  # sqrt(v̂ / bc2)
        if o["adaptive_tiny"]:
            denom = denom + o["tiny_denom"] * jnp.maximum(jnp.mean(jnp.abs(p)), 1.0)
        upd = numerator / (denom + o["eps"])
        return jnp.clip(upd, -o["max_ratio"], o["max_ratio"]) if o["max_ratio"] is not None else upd

    def update_fn(updates, state, params=None):
        if o["adaptive_tiny"] and params is None:
            raise ValueError("kourkoutas_beta with adaptive_tiny=True needs params in update()")
        buckets, index = bucket_index(updates, mode)
        if set(buckets) != set(state.buckets):
            raise ValueError(f"kourkoutas_beta state has buckets {state.buckets[:3]}..., updates {buckets[:3]}...")
        t = state.count + 1
        # β₂ for all buckets at once: one small XLA kernel per bucket would cost more than the whole update
        leaf_sum_sq = jnp.stack(jax.tree.leaves(jax.tree.map(lambda g: jnp.sum(jnp.square(g.astype(f32))), updates)))
        sum_sq = jnp.zeros(len(buckets), f32).at[jnp.asarray(index)].add(leaf_sum_sq)
        beta2, sun, ema = bucket_beta2(sum_sq, state.grad_ema, t)
        leaf_beta2 = jax.tree.unflatten(jax.tree.structure(updates), list(beta2[jnp.asarray(index)]))

        step_f = t.astype(f32)
        step_size = 1.0 / (1.0 - jnp.power(jnp.asarray(o["beta1"], f32), step_f))  # once per step, not per leaf
        if o["bias_correction"] == "exact":
            cumprod = jax.tree.map(jnp.multiply, state.beta2_cumprod, leaf_beta2)
            inv_sqrt_bc2 = jax.tree.map(lambda c: jax.lax.rsqrt(1.0 - c), cumprod)
        else:
            cumprod = state.beta2_cumprod
            scalar = jax.lax.rsqrt(1.0 - jnp.power(jnp.asarray(o["beta2_max"], f32), step_f))
            inv_sqrt_bc2 = jax.tree.map(lambda _: scalar, cumprod)

        b1 = o["beta1"]
        m = jax.tree.map(lambda g, m: b1 * m + (1 - b1) * g, updates, state.m)
        # g * g, not g²: XLA would share g² with the norm above and write it out
        v = jax.tree.map(
            lambda g, v, b2: b2.astype(g.dtype) * v + (1 - b2.astype(g.dtype)) * g * g, updates, state.v, leaf_beta2
        )
        v_max, v_hat = None, v
        if keep_vmax:
            decay = o["decay"]
            v_max = v_hat = jax.tree.map(
                lambda vmax, v: (
                    jnp.maximum(jnp.asarray(decay, v.dtype) * vmax, v) if decay is not None else jnp.maximum(vmax, v)
                ),
                state.v_max,
                v,
            )
        if o["adaptive_tiny"]:
            upd = jax.tree.map(
                lambda m, vh, inv, p: direction(m, vh, inv, step_size, p), m, v_hat, inv_sqrt_bc2, params
            )
        else:
            upd = jax.tree.map(lambda m, vh, inv: direction(m, vh, inv, step_size), m, v_hat, inv_sqrt_bc2)
        new_state = KourkoutasBetaState(
            count=t,
            m=m,
            v=v,
            v_max=v_max,
            beta2_cumprod=cumprod,
            grad_ema=ema,
            last_spike=dict(zip(buckets, list(sun))),
            last_beta2=dict(zip(buckets, list(beta2))),
        )
        return upd, new_state

    return optax.GradientTransformation(init_fn, update_fn)


def bucket_diagnostics(state) -> dict[str, tuple[float, float]]:
    """Last step's (sun-spike, β₂) per bucket, from a Kβ state (or an optax chain's state containing one)."""
    found = _find_state(state)
    if found is None:
        return {}
    spikes, betas = jax.device_get((found.last_spike, found.last_beta2))
    return {k: (float(spikes[k]), float(betas[k])) for k in found.buckets}


def kbeta_diagnostics(state) -> dict[str, dict[str, float]]:
    """bucket -> {"sunspike": ..., "beta2": ...} of the last step (Kβ's diagnostics, options.py)."""
    return {key: {"sunspike": s, "beta2": b} for key, (s, b) in bucket_diagnostics(state).items()}


def _find_state(state):
    if isinstance(state, KourkoutasBetaState):
        return state
    if isinstance(state, (tuple, list)):
        for item in state:
            found = _find_state(item)
            if found is not None:
                return found
    return None
