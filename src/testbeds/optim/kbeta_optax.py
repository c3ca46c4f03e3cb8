"""Kourkoutas-β for JAX: an ``optax.GradientTransformation`` matching kbeta's KourkoutasSoftmaxFlex.

The algorithm is the one of ``kbeta_torch`` (SEED_SOURCES.md §4c). Buckets are derived from the pytree
structure, which is static under ``jax.jit``: ``global`` (one), ``shape`` (leaves of equal shape) or
``per-array`` (each leaf, keyed by its path such as ``blocks/0/attn/kernel``). The state is a pytree of
arrays (checkpointable); per-bucket EMA, last sun-spike and last β₂ live in dicts keyed by bucket.

``learning_rate`` may be a float or an optax schedule, called with the number of updates done so far.
``adaptive_tiny`` needs ``params`` in ``update``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from testbeds.optim.registry import kbeta_options


class KourkoutasBetaState(NamedTuple):
    count: jax.Array  # int32, updates done so far
    m: Any
    v: Any
    v_max: Any  # pytree like params, or None when neither decay nor max_ratio is set
    beta2_cumprod: Any  # a float32 scalar per leaf
    grad_ema: dict  # bucket -> scalar
    last_spike: dict  # bucket -> scalar (sun-spike of the last step)
    last_beta2: dict  # bucket -> scalar (β₂ of the last step)


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


def kourkoutas_beta(learning_rate=1e-3, **options) -> optax.GradientTransformation:
    o = kbeta_options(options)
    mode = o["layer_bucket"]
    keep_vmax = o["decay"] is not None or o["max_ratio"] is not None
    f32 = jnp.float32

    def init_fn(params):
        keys = bucket_keys(params, mode)
        zeros = {k: jnp.zeros((), f32) for k in keys}
        return KourkoutasBetaState(
            count=jnp.zeros((), jnp.int32),
            m=jax.tree_util.tree_map(jnp.zeros_like, params),
            v=jax.tree_util.tree_map(jnp.zeros_like, params),
            v_max=jax.tree_util.tree_map(jnp.zeros_like, params) if keep_vmax else None,
            beta2_cumprod=jax.tree_util.tree_map(lambda p: jnp.ones((), p.dtype), params),
            grad_ema=dict(zeros),
            last_spike=dict(zeros),
            last_beta2=dict(zeros),
        )

    def bucket_beta2(g_norm, ema, t):
        alpha = jnp.asarray(o["alpha"], f32)
        ema = alpha * ema + (1 - alpha) * g_norm
        warming = (t <= o["warmup_steps"]).astype(f32)
        raw = g_norm / (ema + o["tiny_spike"])
        sun = (1 - warming) * (raw / (1 + raw))
        beta2 = warming * 0.5 * (o["beta2_min"] + o["beta2_max"]) + (1 - warming) * (
            o["beta2_max"] - (o["beta2_max"] - o["beta2_min"]) * sun)
        return beta2, sun, ema

    def update_fn(updates, state, params=None):
        if o["adaptive_tiny"] and params is None:
            raise ValueError("kourkoutas_beta with adaptive_tiny=True needs params in update()")
        grads, treedef = jax.tree_util.tree_flatten(updates)
        keys = bucket_keys(updates, mode)
        t = state.count + 1
        lr = learning_rate(state.count) if callable(learning_rate) else learning_rate
        lr = jnp.asarray(lr, f32)
        sum_sq: dict[str, jax.Array] = {}
        for key, g in zip(keys, grads):
            sum_sq[key] = sum_sq.get(key, jnp.zeros((), f32)) + jnp.sum(jnp.square(g.astype(f32)))
        beta2s, spikes, emas = {}, {}, {}
        for key, total in sum_sq.items():
            beta2s[key], spikes[key], emas[key] = bucket_beta2(jnp.sqrt(total), state.grad_ema[key], t)

        leaves = lambda tree: treedef.flatten_up_to(tree)  # noqa: E731
        ms, vs, cps = leaves(state.m), leaves(state.v), leaves(state.beta2_cumprod)
        vmaxes = leaves(state.v_max) if keep_vmax else [None] * len(grads)
        ps = leaves(params) if params is not None else [None] * len(grads)
        step_f = t.astype(f32)
        bc1 = 1.0 - jnp.power(jnp.asarray(o["beta1"], f32), step_f)
        bc2_max = 1.0 - jnp.power(jnp.asarray(o["beta2_max"], f32), step_f)
        step_size = lr / bc1  # scalars once per step, not per leaf
        new = {"upd": [], "m": [], "v": [], "vmax": [], "cp": []}
        for key, g, m, v, vmax, cp, p in zip(keys, grads, ms, vs, vmaxes, cps, ps):
            beta2 = beta2s[key].astype(g.dtype)
            m = o["beta1"] * m + (1 - o["beta1"]) * g
            v = beta2 * v + (1 - beta2) * jnp.square(g)
            v_hat = v
            if keep_vmax:
                vmax = jnp.maximum(jnp.asarray(o["decay"], v.dtype) * vmax, v) if o["decay"] is not None else jnp.maximum(vmax, v)
                v_hat = vmax
            denom = jnp.sqrt(v_hat)
            if o["bias_correction"] == "none":
                numerator = lr * m
            else:
                cp = cp * beta2
                bc2 = 1.0 - cp if o["bias_correction"] == "exact" else bc2_max
                numerator, denom = step_size * m, denom * jax.lax.rsqrt(bc2)  # sqrt(v̂ / bc2)
            if o["adaptive_tiny"]:
                denom = denom + o["tiny_denom"] * jnp.maximum(jnp.mean(jnp.abs(p)), 1.0)
            upd = numerator / (denom + o["eps"])
            if o["max_ratio"] is not None:
                limit = lr * o["max_ratio"]
                upd = jnp.clip(upd, -limit, limit)
            for name, value in (("upd", -upd), ("m", m), ("v", v), ("vmax", vmax), ("cp", cp)):
                new[name].append(value)

        tree = lambda values: jax.tree_util.tree_unflatten(treedef, values)  # noqa: E731
        new_state = KourkoutasBetaState(
            count=t,
            m=tree(new["m"]),
            v=tree(new["v"]),
            v_max=tree(new["vmax"]) if keep_vmax else None,
            beta2_cumprod=tree(new["cp"]),
            grad_ema={**state.grad_ema, **emas},
            last_spike={**state.last_spike, **spikes},
            last_beta2={**state.last_beta2, **beta2s},
        )
        return tree(new["upd"]), new_state

    return optax.GradientTransformation(init_fn, update_fn)


def bucket_diagnostics(state) -> dict[str, tuple[float, float]]:
    """Last step's (sun-spike, β₂) per bucket, from a Kβ state (or an optax chain's state containing one)."""
    found = _find_state(state)
    if found is None:
        return {}
    return {k: (float(found.last_spike[k]), float(found.last_beta2[k])) for k in found.last_beta2}


def _find_state(state):
    if isinstance(state, KourkoutasBetaState):
        return state
    if isinstance(state, (tuple, list)):
        for item in state:
            found = _find_state(item)
            if found is not None:
                return found
    return None
