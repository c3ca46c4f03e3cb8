"""The optimisers the grid can run, as one table: each algorithm's options (default and valid values) and,
per framework, the function that builds it.

A leaf module (no framework is imported here), so the config checks, the registry and every framework's
module read the same table. Adding an algorithm is one entry here, one factory function of the same name
in each of ``mlx_optim``, ``jax_optim`` and ``torch_optim``, and one parity case in the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

FRAMEWORKS = ("mlx", "jax", "torch")
IMPORT_KEYS = {"import", "framework"}  # a researcher's own optimiser: "module:function" for one framework
# config entry keys that are not options; bias_ramp: the run's rate times √(1 − β^t) (testbeds.schedule)
SPEC_KEYS = {"algorithm", "label", "search", "bias_ramp"} | IMPORT_KEYS

# JSON-schema fragments for option values
BETA = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}
POSITIVE = {"type": "number", "exclusiveMinimum": 0}
NON_NEGATIVE = {"type": "number", "minimum": 0}
NON_NEGATIVE_INT = {"type": "integer", "minimum": 0}
BOOLEAN = {"type": "boolean"}


@dataclass(frozen=True)
class Algorithm:
    """``options``: name -> (default, JSON schema of its values). ``check``: a rule between options that
    returns (the option at fault, what is wrong), or None. ``diagnostics``: the numbers a run with these options logs
    on logged steps, by name, one value per bucket of parameters (each framework's optimiser module computes
    them: ``diagnostics(opt, spec, step, lr)``; the loop, the tables and the report's figure take any names). ``schedule_free``: the algorithm replaces the learning
    rate's decay (runs keep the warm-up, drop the decay) and is evaluated at its averaged parameters."""

    options: dict[str, tuple[Any, dict]]
    check: Callable[[dict], tuple[str, str] | None] = lambda options: None
    diagnostics: Callable[[dict], tuple[str, ...]] = lambda options: ()
    factories: dict[str, str] = field(default_factory=dict)
    schedule_free: bool = False


def _same_name_factories(name: str) -> dict[str, str]:
    return {framework: f"testbeds.optim.{framework}_optim:{name}" for framework in FRAMEWORKS}


def _check_kbeta(options: dict) -> tuple[str, str] | None:
    if options["beta2_min"] > options["beta2_max"]:
        return "beta2_min", f"{options['beta2_min']} is larger than beta2_max ({options['beta2_max']})"
    return None


def _check_sgd(options: dict) -> tuple[str, str] | None:
    if options["nesterov"] and options["momentum"] == 0:
        return "nesterov", "Nesterov momentum needs momentum > 0"
    return None


ADAM_OPTIONS = {"beta1": (0.9, BETA), "beta2": (0.999, BETA), "eps": (1e-8, POSITIVE)}

# Muon's input and output layers (embeddings, the output head, heat2d's input features) take its AdamW part: a
# parameter whose path has one of these components (docs/optimizers.md, "Muon")
INPUT_OUTPUT_LAYER = re.compile(r"(^|[./])(\w*embed\w*|\w*_head|head|tok|pos|positions|input_layer|fourier)([./]|$)")


def is_hidden_matrix(path: str, shape) -> bool:
    """Whether Muon orthogonalises this parameter: a 2-D weight of a hidden layer."""
    return len(shape) == 2 and not INPUT_OUTPUT_LAYER.search(path)


ALGORITHMS: dict[str, Algorithm] = {
    "adam": Algorithm(ADAM_OPTIONS, factories=_same_name_factories("adam")),
    "adamw": Algorithm({**ADAM_OPTIONS, "weight_decay": (0.01, NON_NEGATIVE)}, factories=_same_name_factories("adamw")),
    # Kourkoutas-β with the reference package's defaults (kbeta 1.0.0, KourkoutasSoftmaxFlex). Its default
    # bucket is per-array (keyed by id() there; by the parameter's path here).
    "kbeta": Algorithm(
        {
            "beta1": (0.9, BETA),
            "beta2_max": (0.999, BETA),
            "beta2_min": (0.9, BETA),
            "eps": (1e-8, POSITIVE),
            "alpha": (0.9, {"type": "number", "exclusiveMinimum": 0, "maximum": 1}),
            "tiny_spike": (1e-8, NON_NEGATIVE),
            "tiny_denom": (1e-8, NON_NEGATIVE),
            "decay": (None, {"type": ["number", "null"], "minimum": 0, "maximum": 1}),
            "max_ratio": (None, {"type": ["number", "null"], "exclusiveMinimum": 0}),
            "adaptive_tiny": (False, BOOLEAN),
            "bias_correction": ("none", {"enum": ["none", "beta2max", "exact"]}),
            "warmup_steps": (0, NON_NEGATIVE_INT),
            "layer_bucket": ("per-array", {"enum": ["global", "shape", "per-array"]}),
            "diagnostics": (False, BOOLEAN),
        },
        check=_check_kbeta,
        # each bucket's sun-spike and β₂ of the last step (computed inside the step: only when asked for)
        diagnostics=lambda options: ("sunspike", "beta2") if options["diagnostics"] else (),
        factories=_same_name_factories("kbeta"),
    ),
    # SGD with (Nesterov) momentum and coupled L2 weight decay, as torch.optim.SGD defines them
    "sgd": Algorithm(
        {"momentum": (0.9, BETA), "nesterov": (True, BOOLEAN), "weight_decay": (0.0, NON_NEGATIVE)},
        check=_check_sgd,
        factories=_same_name_factories("sgd"),
    ),
    # The modern set (docs/optimizers.md has each one's definition and how each library is held to it)
    "lion": Algorithm(
        {"beta1": (0.9, BETA), "beta2": (0.99, BETA), "weight_decay": (0.0, NON_NEGATIVE)},
        factories=_same_name_factories("lion"),
    ),
    # Adafactor as torch.optim.Adafactor defines it: factored second moment with β₂ₜ = 1 - t^-decay_rate,
    # update clipped to RMS clip_threshold, step min(lr, 1/√t) · max(eps_scale, RMS(θ)), no momentum, no decay
    "adafactor": Algorithm(
        {
            "decay_rate": (0.8, {"type": "number", "exclusiveMinimum": 0, "maximum": 1}),
            "clip_threshold": (1.0, {"type": "number", "minimum": 1}),  # torch allows no less
            "eps": (1e-30, POSITIVE),
            "eps_scale": (1e-3, POSITIVE),
        },
        diagnostics=lambda options: ("relative_step",),  # min(lr, 1/√t): the lr is ignored once 1/√t is below
        factories=_same_name_factories("adafactor"),
    ),
    # Muon on the hidden matrices (``is_hidden_matrix``), AdamW on the rest, one learning rate and weight decay
    "muon": Algorithm(
        {
            "momentum": (0.95, BETA),
            "nesterov": (True, BOOLEAN),
            "ns_steps": (5, {"type": "integer", "minimum": 1, "maximum": 20}),
            "weight_decay": (0.01, NON_NEGATIVE),
            "adam_beta1": (0.9, BETA),
            "adam_beta2": (0.95, BETA),
            "eps": (1e-8, POSITIVE),
        },
        # the RMS of Muon's momentum (as an average) on the hidden matrices: the gradient scale that its
        # orthogonalised step does not follow
        diagnostics=lambda options: ("momentum_rms",),
        factories=_same_name_factories("muon"),
    ),
    "schedule_free_adamw": Algorithm(
        {
            "beta1": (0.9, {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}),
            "beta2": (0.999, BETA),
            "eps": (1e-8, POSITIVE),
            "weight_decay": (0.0, NON_NEGATIVE),
            "weight_lr_power": (2.0, NON_NEGATIVE),
        },
        factories=_same_name_factories("schedule_free_adamw"),
        diagnostics=lambda options: ("averaging_weight",),  # c_t: the weight of the newest iterate in the average
        schedule_free=True,
    ),
}


def is_imported(spec: dict) -> bool:
    """A researcher's own optimiser (``import: "module:function"``, ``framework: torch``), not the table's."""
    return "import" in spec


def algorithm(spec: dict) -> Algorithm:
    """The table's entry of ``spec``; for an imported optimiser, its factory for its one framework, and its
    entry's other keys as options with their values as defaults (free: its factory checks them)."""
    if is_imported(spec):
        options = {key: (value, {}) for key, value in spec.items() if key not in SPEC_KEYS}
        return Algorithm(options, factories={spec["framework"]: spec["import"]})
    name = spec.get("algorithm")
    if name not in ALGORITHMS:
        raise ValueError(f"unknown optimizer algorithm {name!r}; known: {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]


def available(spec: dict, framework: str) -> bool:
    """Whether the optimiser of ``spec`` exists for ``framework`` (an imported one: only for its own)."""
    return framework in algorithm(spec).factories


def options_schema(name: str) -> dict:
    """The JSON schema of a config entry of algorithm ``name`` (options may be left out: defaults apply)."""
    options = ALGORITHMS[name].options
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["algorithm"],
        "properties": {
            "algorithm": {"const": name},
            "label": {"type": "string"},
            "bias_ramp": BETA,
            **{key: schema for key, (_, schema) in options.items()},
        },
    }


def with_defaults(spec: dict) -> dict:
    """A config entry with every option of its algorithm filled in (the entry's own values win)."""
    defaults = {key: default for key, (default, _) in algorithm(spec).options.items()}
    return {**defaults, **spec}


def resolve_options(spec: dict) -> dict:
    """The options of a config entry (no ``algorithm``/``label``), defaults filled in and checked."""
    entry = algorithm(spec)
    unknown = set(spec) - SPEC_KEYS - set(entry.options)
    if unknown:
        raise ValueError(f"unknown option(s) of {spec.get('algorithm')}: {sorted(unknown)}")
    options = {k: v for k, v in with_defaults(spec).items() if k not in SPEC_KEYS}
    for key, (_, schema) in entry.options.items():
        if "enum" in schema and options[key] not in schema["enum"]:
            raise ValueError(f"{key} must be one of {schema['enum']}, not {options[key]!r}")
    problem = entry.check(options)
    if problem:
        raise ValueError("{}: {}".format(*problem))
    return options


def is_schedule_free(spec: dict) -> bool:
    """Whether a run with this optimizer entry drops its learning rate's decay and evaluates averaged parameters."""
    return algorithm(spec).schedule_free


def diagnostic_names(spec: dict) -> tuple[str, ...]:
    """The diagnostics a run with this optimizer entry logs, by name (``Algorithm.diagnostics``)."""
    return algorithm(spec).diagnostics(with_defaults(spec))


def relative_step(step: int, lr: float) -> float:
    """Adafactor's step size before its parameter-scale factor (torch's definition): min(lr, 1/√t)."""
    return min(lr, step**-0.5) if step else lr


def kbeta_options(options: dict) -> dict:
    """Kourkoutas-β's options (keyword arguments of the framework ports), defaults filled in and checked."""
    return resolve_options({"algorithm": "kbeta", **options})
