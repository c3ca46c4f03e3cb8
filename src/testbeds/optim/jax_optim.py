"""Optimisers for the JAX workloads: optax's Adam/AdamW, and our Kourkoutas-β port."""

from __future__ import annotations

import optax

from testbeds.optim.kbeta_optax import kourkoutas_beta
from testbeds.optim.registry import kbeta_options


def make_optimizer(spec: dict, learning_rate) -> optax.GradientTransformation:
    algorithm = spec["algorithm"]
    if algorithm == "adam":
        return optax.adam(learning_rate, b1=spec["beta1"], b2=spec["beta2"], eps=spec["eps"])
    if algorithm == "adamw":
        return optax.adamw(learning_rate, b1=spec["beta1"], b2=spec["beta2"], eps=spec["eps"],
                           weight_decay=spec.get("weight_decay", 0.01))
    if algorithm == "kbeta":
        return kourkoutas_beta(learning_rate, **kbeta_options(spec))
    raise ValueError(f"unknown optimizer algorithm '{algorithm}'")
