"""One registry: an optimiser entry of the config -> the right object for MLX, JAX (optax) or PyTorch.

The algorithms, their options and their per-framework factories are the table in ``options``. Adam, AdamW
and SGD come from each framework's own library; Kourkoutas-β is the PyPI
``kbeta`` package's KourkoutasSoftmaxFlex in MLX (``kbeta_mlx.KourkoutasBeta``, its class with a
faster update) and our ports elsewhere (``kbeta_torch.KourkoutasBeta``,
``kbeta_optax.kourkoutas_beta``), all matching the package's own update numerically on the same
gradient stream. A researcher's own optimiser is a config entry with ``import: "module:function"`` and
``framework``: its function, called like the table's factories, builds it for that framework only.
Framework modules are imported when used, so a workload's environment needs only its own framework.
"""

from __future__ import annotations

import importlib

from testbeds.optim.options import FRAMEWORKS, algorithm, available, resolve_options


def make_optimizer(framework: str, spec: dict, learning_rate, params=None):
    """Build the optimiser ``spec`` (a config entry) for ``framework``, from the table in ``options``.

    torch needs ``params`` (an iterable of tensors, (name, tensor) pairs or param groups); MLX and
    optax optimisers are built without parameters. ``learning_rate`` may be a float, or for optax a
    schedule.
    """
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}; known: {', '.join(FRAMEWORKS)}")
    if not available(spec, framework):
        raise ValueError(f"optimizer {spec.get('label', spec['import'])!r} is not available for {framework}")
    module, _, function = algorithm(spec).factories[framework].partition(":")
    factory = getattr(importlib.import_module(module), function)
    options = resolve_options(spec)
    if framework == "torch":
        return factory(options, params, learning_rate)
    return factory(options, learning_rate)
