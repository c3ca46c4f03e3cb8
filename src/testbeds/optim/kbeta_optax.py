"""Kourkoutas-β for JAX: an ``optax.GradientTransformation`` matching kbeta's KourkoutasSoftmaxFlex.

The algorithm is the one of ``kbeta_torch`` (docs/optimizers.md). Buckets are derived from the pytree
structure, which is static under ``jax.jit``: ``global`` (one), ``shape`` (leaves of equal shape) or
``per-array`` (each leaf, keyed by its path such as ``blocks/0/attn/kernel``). The per-bucket scalars
(gradient-norm EMA, last sun-spike, last β₂) are vectors over the buckets and β₂ is computed for all
buckets at once: one scalar operation per bucket would cost XLA a small kernel each, more than the whole
element-wise update on a 10M-parameter model. The state is a pytree of arrays (checkpointable) whose
static part names the buckets.

``scale_by_kourkoutas_beta(**options)`` is the transformation; ``kourkoutas_beta(learning_rate, **options)``
chains it with ``optax.scale_by_learning_rate`` (a float or an optax schedule), as ``optax.adam`` is built.
``adaptive_tiny`` needs ``params`` in ``update``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from testbeds.optim.options import kbeta_options


@struct.dataclass
class KourkoutasBetaState:
    count: jax.Array  # int32, updates done so far
    m: Any
    v: Any
    v_max: Any  # pytree like params, or None when neither decay nor max_ratio is set
    beta2_cumprod: jax.Array  # float32 [leaves]: product of each leaf's β₂ so far (exact bias correction)
    grad_ema: jax.Array  # float32 [buckets]
    last_spike: jax.Array  # float32 [buckets]: sun-spike of the last step
    last_beta2: jax.Array  # float32 [buckets]: β₂ of the last step
    buckets: tuple[str, ...] = struct.field(pytree_node=False, default=())


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
        zeros = lambda: jax.tree_util.tree_map(jnp.zeros_like, params)  # noqa: E731
        return KourkoutasBetaState(
            count=jnp.zeros((), jnp.int32),
            m=zeros(),
            v=zeros(),
            v_max=zeros() if keep_vmax else None,
            beta2_cumprod=jnp.ones(len(jax.tree_util.tree_leaves(params)), f32),
            grad_ema=jnp.zeros(len(buckets), f32),
            last_spike=jnp.zeros(len(buckets), f32),
            last_beta2=jnp.zeros(len(buckets), f32),
            buckets=buckets,
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

    def update_fn(updates, state, params=None):
        if o["adaptive_tiny"] and params is None:
            raise ValueError("kourkoutas_beta with adaptive_tiny=True needs params in update()")
        grads, treedef = jax.tree_util.tree_flatten(updates)
        buckets, index = bucket_index(updates, mode)
        if buckets != state.buckets:
            raise ValueError(f"kourkoutas_beta state has buckets {state.buckets[:3]}..., updates {buckets[:3]}...")
        t = state.count + 1
        leaf_sum_sq = jnp.stack([jnp.sum(jnp.square(g.astype(f32))) for g in grads])
        sum_sq = jnp.zeros(len(buckets), f32).at[jnp.asarray(index)].add(leaf_sum_sq)
        beta2, sun, ema = bucket_beta2(sum_sq, state.grad_ema, t)
        leaf_beta2 = beta2[jnp.asarray(index)]

        step_f = t.astype(f32)
        bc1 = 1.0 - jnp.power(jnp.asarray(o["beta1"], f32), step_f)
        step_size = 1.0 / bc1  # scalars once per step, not per leaf
        if o["bias_correction"] == "exact":
            cumprod = state.beta2_cumprod * leaf_beta2
            inv_sqrt_bc2 = jax.lax.rsqrt(1.0 - cumprod)
        else:
            cumprod = state.beta2_cumprod
            inv_sqrt_bc2 = jnp.broadcast_to(
                jax.lax.rsqrt(1.0 - jnp.power(jnp.asarray(o["beta2_max"], f32), step_f)), cumprod.shape
            )

        leaves = lambda tree: treedef.flatten_up_to(tree)  # noqa: E731
        ms, vs = leaves(state.m), leaves(state.v)
        vmaxes = leaves(state.v_max) if keep_vmax else [None] * len(grads)
        ps = leaves(params) if params is not None else [None] * len(grads)
        new = {"upd": [], "m": [], "v": [], "vmax": []}
        for i, (g, m, v, vmax, p) in enumerate(zip(grads, ms, vs, vmaxes, ps)):
            b2 = leaf_beta2[i].astype(g.dtype)
            m = o["beta1"] * m + (1 - o["beta1"]) * g
            v = b2 * v + (1 - b2) * g * g  # not g², which XLA would share with the norm and write out
            v_hat = v
            if keep_vmax:
                vmax = (
                    jnp.maximum(jnp.asarray(o["decay"], v.dtype) * vmax, v)
                    if o["decay"] is not None
                    else jnp.maximum(vmax, v)
                )
                v_hat = vmax
            denom = jnp.sqrt(v_hat)
            if o["bias_correction"] == "none":
                numerator = m
            else:
                numerator, denom = step_size * m, denom * inv_sqrt_bc2[i]  # sqrt(v̂ / bc2)
            if o["adaptive_tiny"]:
                denom = denom + o["tiny_denom"] * jnp.maximum(jnp.mean(jnp.abs(p)), 1.0)
            upd = numerator / (denom + o["eps"])
            if o["max_ratio"] is not None:
                upd = jnp.clip(upd, -o["max_ratio"], o["max_ratio"])
            for name, value in (("upd", upd), ("m", m), ("v", v), ("vmax", vmax)):
                new[name].append(value)

        tree = lambda values: jax.tree_util.tree_unflatten(treedef, values)  # noqa: E731
        new_state = state.replace(
            count=t,
            m=tree(new["m"]),
            v=tree(new["v"]),
            v_max=tree(new["vmax"]) if keep_vmax else None,
            beta2_cumprod=cumprod,
            grad_ema=ema,
            last_spike=sun,
            last_beta2=beta2,
        )
        return tree(new["upd"]), new_state

    return optax.GradientTransformation(init_fn, update_fn)


def bucket_diagnostics(state) -> dict[str, tuple[float, float]]:
    """Last step's (sun-spike, β₂) per bucket, from a Kβ state (or an optax chain's state containing one)."""
    found = _find_state(state)
    if found is None:
        return {}
    spikes, betas = jax.device_get((found.last_spike, found.last_beta2))
    return {k: (float(s), float(b)) for k, s, b in zip(found.buckets, spikes, betas)}


def _find_state(state):
    if isinstance(state, KourkoutasBetaState):
        return state
    if isinstance(state, (tuple, list)):
        for item in state:
            found = _find_state(item)
            if found is not None:
                return found
    return None
