"""One registry: an optimiser entry of the config -> the right object for MLX, JAX (optax) or PyTorch.

Adam and AdamW come from each framework's own library; Kourkoutas-β is the PyPI
``kbeta`` package's KourkoutasSoftmaxFlex in MLX (``kbeta_mlx.KourkoutasBeta``, its class with a
faster update) and our ports elsewhere (``kbeta_torch.KourkoutasBeta``,
``kbeta_optax.kourkoutas_beta``), all matching the package's own update numerically on the same
gradient stream. Framework modules are imported lazily, so a workload's environment needs only its own
framework.
"""

from __future__ import annotations

from typing import Any

ALGORITHMS = ("adam", "adamw", "kbeta")
FRAMEWORKS = ("mlx", "jax", "torch")

# KourkoutasSoftmaxFlex's options with the reference's defaults (kbeta 1.0.0). Its default bucket is
# per-array (keyed by id() there; by the parameter's path here).
KBETA_DEFAULTS: dict[str, Any] = {
    "beta1": 0.9,
    "beta2_max": 0.999,
    "beta2_min": 0.9,
    "eps": 1e-8,
    "alpha": 0.9,
    "tiny_spike": 1e-8,
    "tiny_denom": 1e-8,
    "decay": None,
    "max_ratio": None,
    "adaptive_tiny": False,
    "bias_correction": "none",
    "warmup_steps": 0,
    "layer_bucket": "per-array",
    "diagnostics": False,
}
SPEC_KEYS = {"algorithm", "label"}  # config entry keys that are not optimiser options
BUCKET_MODES = ("global", "shape", "per-array")
BIAS_CORRECTIONS = ("none", "beta2max", "exact")


def kbeta_options(spec: dict) -> dict:
    """The Kβ options of a config entry, defaults filled in and checked."""
    spec = {k: v for k, v in spec.items() if k not in SPEC_KEYS}
    unknown = set(spec) - set(KBETA_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown Kourkoutas-beta option(s): {sorted(unknown)}")
    options = {**KBETA_DEFAULTS, **spec}
    if options["layer_bucket"] not in BUCKET_MODES:
        raise ValueError(f"layer_bucket must be one of {BUCKET_MODES}, not {options['layer_bucket']!r}")
    if options["bias_correction"] not in BIAS_CORRECTIONS:
        raise ValueError(f"bias_correction must be one of {BIAS_CORRECTIONS}, not {options['bias_correction']!r}")
    return options


def make_optimizer(framework: str, spec: dict, learning_rate, params=None):
    """Build the optimiser ``spec`` (a config entry) for ``framework``.

    torch needs ``params`` (an iterable of tensors, (name, tensor) pairs or param groups); MLX and
    optax optimisers are built without parameters. ``learning_rate`` may be a float, or for optax a
    schedule.
    """
    if spec["algorithm"] not in ALGORITHMS:
        raise ValueError(f"unknown optimizer algorithm {spec['algorithm']!r}; known: {', '.join(ALGORITHMS)}")
    if framework == "mlx":
        from testbeds.optim import mlx_optim

        return mlx_optim.make_optimizer(spec, learning_rate)
    if framework == "torch":
        from testbeds.optim import torch_optim

        return torch_optim.make_optimizer(spec, params, learning_rate)
    if framework == "jax":
        from testbeds.optim import jax_optim

        return jax_optim.make_optimizer(spec, learning_rate)
    raise ValueError(f"unknown framework {framework!r}; known: {', '.join(FRAMEWORKS)}")


def summarise_buckets(buckets: dict[str, tuple[float, float]]) -> dict[str, float]:
    """metrics.csv summary columns from per-bucket (sun-spike, β₂) of the last step."""
    if not buckets:
        return {}
    spikes = [s for s, _ in buckets.values()]
    betas = [b for _, b in buckets.values()]
    return {
        "beta2_mean": sum(betas) / len(betas),
        "beta2_min": min(betas),
        "beta2_max": max(betas),
        "sunspike_mean": sum(spikes) / len(spikes),
        "sunspike_max": max(spikes),
    }
