"""Optimisers for the JAX workloads: optax's Adam, AdamW, SGD, Lion and Adafactor, Muon and Schedule-Free
AdamW composed from optax.contrib's transformations, and our Kourkoutas-β port.

Each function builds one algorithm of ``options.ALGORITHMS`` from its resolved options. Where an optax
function's defaults differ from the definition (docs/optimizers.md), the function is configured or composed
from optax's own pieces to follow it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from optax import contrib

from testbeds.optim.kbeta_optax import kbeta_diagnostics, kourkoutas_beta
from testbeds.optim.options import diagnostic_names, is_hidden_matrix, relative_step, resolve_options


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


def lion(options: dict, learning_rate) -> optax.GradientTransformation:
    return optax.lion(learning_rate, b1=options["beta1"], b2=options["beta2"], weight_decay=options["weight_decay"])


def adafactor(options: dict, learning_rate) -> optax.GradientTransformation:
    """optax.adafactor's chain, composed so that the parameter-scale floor is ``eps_scale`` (optax.adafactor
    keeps scale_by_param_block_rms's 1e-3), every matrix factored (its default leaves dimensions under 128
    unfactored), and torch's relative step: the step size is min(lr, 1/√t)."""

    def capped(count):
        return jnp.minimum(_at(learning_rate, count), jax.lax.rsqrt(count + 1.0))

    return optax.chain(
        optax.scale_by_factored_rms(
            factored=True, decay_rate=options["decay_rate"], min_dim_size_to_factor=1, epsilon=options["eps"]
        ),
        optax.clip_by_block_rms(options["clip_threshold"]),
        optax.scale_by_learning_rate(capped, flip_sign=False),
        optax.scale_by_param_block_rms(min_scale=options["eps_scale"]),
        optax.scale(-1),
    )


def muon(options: dict, learning_rate) -> optax.GradientTransformation:
    """Muon (momentum as a sum, Nesterov, Newton-Schulz, update RMS matched to AdamW's) on the hidden
    matrices, AdamW on the rest. ``optax.contrib.muon`` would bias-correct the momentum, give Muon the
    embeddings and head and make its AdamW Nesterov, so it is composed here from its parts."""
    hidden = optax.chain(
        optax.trace(options["momentum"], nesterov=options["nesterov"]),
        contrib.scale_by_muon(
            ns_steps=options["ns_steps"], beta=0.0, nesterov=False, eps=1e-7, weight_dimension_numbers=_matrices
        ),
        optax.stateless(lambda updates, params: jax.tree.map(lambda u: 0.2 * max(u.shape) ** 0.5 * u, updates)),
        optax.add_decayed_weights(options["weight_decay"]),
        optax.scale_by_learning_rate(learning_rate),
    )
    rest = optax.adamw(
        learning_rate,
        b1=options["adam_beta1"],
        b2=options["adam_beta2"],
        eps=options["eps"],
        weight_decay=options["weight_decay"],
    )
    return optax.partition({"muon": hidden, "adamw": rest}, muon_labels)


def _matrices(updates):
    return jax.tree.map(lambda _: contrib.MuonDimensionNumbers(), updates)


def muon_labels(params):
    """ "muon" for the hidden matrices, "adamw" for the rest, by each leaf's path and shape."""
    return jax.tree_util.tree_map_with_path(
        lambda path, leaf: (
            "muon" if is_hidden_matrix(jax.tree_util.keystr(path, simple=True, separator="/"), leaf.shape) else "adamw"
        ),
        params,
    )


def schedule_free_adamw(options: dict, learning_rate) -> optax.GradientTransformation:
    """optax.contrib's Schedule-Free wrapper around AdamW's step, as ``schedule_free_adamw`` builds it, except
    that the averaging weights see the same step's learning rate as the step (optax's own reads the schedule
    one step ahead, the reference package does not)."""
    step = optax.chain(
        optax.scale_by_rms(decay=options["beta2"], eps=options["eps"], eps_in_sqrt=False, bias_correction=True),
        optax.add_decayed_weights(options["weight_decay"]),
        optax.scale_by_learning_rate(learning_rate),
    )
    return contrib.schedule_free(
        step,
        learning_rate=lambda count: _at(learning_rate, count - 1),
        b1=options["beta1"],
        weight_lr_power=options["weight_lr_power"],
    )


def schedule_free_state(opt_state):
    """The ScheduleFreeState inside a (possibly chained) optax state, or None."""
    if isinstance(opt_state, contrib.ScheduleFreeState):
        return opt_state
    if isinstance(opt_state, tuple):
        for part in opt_state:
            found = schedule_free_state(part)
            if found is not None:
                return found
    return None


def evaluation_params(opt_state, params):
    """The parameters to evaluate: Schedule-Free's average x; the training parameters for the others."""
    state = schedule_free_state(opt_state)
    return params if state is None else contrib.schedule_free_eval_params(state, params)


def diagnostics(opt_state, spec: dict, step: int, lr: float) -> dict[str, dict[str, float]]:
    """bucket -> {name: value} of the diagnostics ``options.diagnostic_names(spec)`` declares, after ``step``
    steps, the last at rate ``lr``."""
    if not diagnostic_names(spec):
        return {}
    name = spec.get("algorithm")
    if name == "kbeta":
        return kbeta_diagnostics(opt_state)
    if name == "schedule_free_adamw":
        state = schedule_free_state(opt_state)
        weight = float(state.max_lr) ** resolve_options(spec)["weight_lr_power"]
        return {"all": {"averaging_weight": weight / float(state.weight_sum)}}
    if name == "adafactor":
        return {"all": {"relative_step": relative_step(step, lr)}}
    if name == "muon":  # optax.trace keeps the momentum as a sum: (1 - μ) times it is the average the others keep
        traces = [jax.tree.leaves(t) for _, t in optax.tree_utils.tree_get_all_with_path(opt_state, "trace")]
        leaves = [leaf for trace in traces for leaf in trace]
        squares = sum(float(jnp.sum(jnp.square(leaf.astype(jnp.float32)))) for leaf in leaves)
        scale = 1 - resolve_options(spec)["momentum"]
        return {"hidden": {"momentum_rms": scale * (squares / sum(leaf.size for leaf in leaves)) ** 0.5}}
    return {}


def _at(learning_rate, count):
    return learning_rate(count) if callable(learning_rate) else learning_rate
