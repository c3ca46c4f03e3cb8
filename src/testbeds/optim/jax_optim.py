"""Optimisers for the JAX workloads: optax's Adam, AdamW and SGD, and our Kourkoutas-β port.

Each function builds one algorithm of ``options.ALGORITHMS`` from its resolved options.
"""

from __future__ import annotations

import optax

from testbeds.optim.kbeta_optax import kourkoutas_beta


def adam(options: dict, learning_rate) -> optax.GradientTransformation:
    return optax.adam(learning_rate, b1=options["beta1"], b2=options["beta2"], eps=options["eps"])


def adamw(options: dict, learning_rate) -> optax.GradientTransformation:
    return optax.adamw(
        learning_rate,
        b1=options["beta1"],
        b2=options["beta2"],
        eps=options["eps"],
        weight_decay=options["weight_decay"],
    )


def kbeta(options: dict, learning_rate) -> optax.GradientTransformation:
    return kourkoutas_beta(learning_rate, **options)


def sgd(options: dict, learning_rate) -> optax.GradientTransformation:
    # coupled L2 decay before the momentum trace, as torch.optim.SGD's weight_decay
    return optax.chain(
        optax.add_decayed_weights(options["weight_decay"]),
        optax.sgd(learning_rate, momentum=options["momentum"], nesterov=options["nesterov"]),
    )


def warmup_cosine_schedule(peak: float, warmup: int, total: int, min_frac: float) -> optax.Schedule:
    """``schedule.warmup_cosine`` times ``peak`` from optax's schedules."""
    decay = optax.cosine_decay_schedule(peak, max(1, total - warmup), alpha=min_frac)
    if warmup == 0:
        return decay
    ramp = optax.linear_schedule(peak / warmup, peak, max(1, warmup - 1))
    return optax.join_schedules([ramp, decay], [warmup])
