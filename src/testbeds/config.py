"""Grid configuration: loading, validation, dotted overrides and per-run resolution.

The same functions serve the Snakefile (which validates ``config`` before any job
starts) and the scripts run on their own (``--config ... --set model.d_model=256``),
so a run resolved either way is the same dictionary with the same hash.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from testbeds.optim.options import ALGORITHMS, options_schema, with_defaults

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
DEFAULT_CONFIG = REPO / "config" / "config.yaml"


NAME_PATTERN = r"[A-Za-z0-9_-]+"  # variant and optimizer names (the schema's propertyNames say the same)


class ConfigError(ValueError):
    """A configuration problem, with the offending key in the message."""


def deep_merge(base: dict, update: dict) -> dict:
    """Merge ``update`` into a copy of ``base``: dicts merge, everything else replaces.

    These are Snakemake's semantics for ``--configfile`` on top of ``configfile:``.
    """
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_config(paths: list[str | Path]) -> dict:
    """Load and merge YAML config files, later files winning."""
    config: dict = {}
    for path in paths:
        with open(path) as handle:
            loaded = yaml.safe_load(handle) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: top level must be a mapping")
        config = deep_merge(config, loaded)
    return config


def set_dotted(tree: dict, dotted_key: str, value: Any) -> None:
    """Set ``tree['a']['b'] = value`` for ``dotted_key='a.b'``; the parent must exist."""
    *parents, leaf = dotted_key.split(".")
    node = tree
    for i, part in enumerate(parents):
        if not isinstance(node.get(part), dict):
            raise ConfigError(f"unknown setting '{'.'.join(parents[: i + 1])}' in override '{dotted_key}'")
        node = node[part]
    if leaf not in node:
        raise ConfigError(f"unknown setting '{dotted_key}'")
    node[leaf] = value


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``key.sub=value``; the value is read as YAML (numbers, lists, null)."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like key.sub=value")
    key, raw = text.split("=", 1)
    value = yaml.safe_load(raw)
    if isinstance(value, str):  # YAML 1.1 reads 1e-3 as a string; a number is meant
        try:
            value = float(raw)
        except ValueError:
            pass
    return key.strip(), value


@functools.lru_cache(maxsize=1)
def _schema() -> dict:
    with open(SCHEMA) as handle:
        return yaml.safe_load(handle)


def _first_error(validator, instance, prefix: str = "") -> str | None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    if not errors:
        return None
    where = ".".join([prefix] * bool(prefix) + [str(p) for p in errors[0].path]) or "(top level)"
    return f"config key '{where}': {errors[0].message}"


def validate(config: dict) -> None:
    """Check ``config`` against the JSON schema, then the cross-field rules.

    Raises ConfigError naming the key. (The Snakefile uses snakemake.utils.validate
    for the schema part, which reports the same key.)
    """
    import jsonschema

    problem = _first_error(jsonschema.Draft202012Validator(_schema()), config)
    if problem:
        raise ConfigError(problem)
    check_consistency(config)


def validate_variant(name: str, workload: dict, variant: str, settings: dict) -> None:
    """A variant's overridden ``settings`` must give a workload entry the schema accepts (types, enums, ranges)."""
    import jsonschema

    schema = _schema()
    entry = {**workload, **settings}
    validator = jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": f"#/$defs/{name}"})
    problem = _first_error(validator, entry, f"workloads.{name}.variants.{variant}")
    if problem:
        raise ConfigError(problem)


def validate_optimizer(where: str, spec: dict) -> None:
    """An optimizer entry (after a workload's overrides) against its algorithm's options in the table."""
    import jsonschema

    if spec.get("algorithm") not in ALGORITHMS:
        raise ConfigError(
            f"config key '{where}.algorithm': unknown algorithm {spec.get('algorithm')!r} "
            f"(known: {', '.join(ALGORITHMS)})"
        )
    validator = jsonschema.Draft202012Validator(options_schema(spec["algorithm"]))
    problem = _first_error(validator, spec, where)
    if problem:
        raise ConfigError(problem)
    problem = ALGORITHMS[spec["algorithm"]].check(with_defaults(spec))
    if problem:
        option, message = problem
        raise ConfigError(f"config key '{where}.{option}': {message}")


def check_consistency(config: dict) -> None:
    """The rules a JSON schema cannot state: references between sections and ranges."""
    optimizers = config["optimizers"]
    for name, spec in optimizers.items():
        validate_optimizer(f"optimizers.{name}", spec)
    for name in config["grid"]["workloads"]:
        if name not in config["workloads"]:
            raise ConfigError(f"grid.workloads: '{name}' has no entry under 'workloads'")
    for name, workload in config["workloads"].items():
        for opt in workload["optimizers"]:
            if opt not in optimizers:
                raise ConfigError(
                    f"workloads.{name}.optimizers: unknown optimizer '{opt}' (defined: {', '.join(sorted(optimizers))})"
                )
        for opt, options in workload.get("optimizer_overrides", {}).items():
            if opt not in workload["optimizers"]:
                raise ConfigError(f"workloads.{name}.optimizer_overrides: '{opt}' is not among its optimizers")
            validate_optimizer(f"workloads.{name}.optimizer_overrides.{opt}", {**optimizers[opt], **options})
        baseline = workload.get("baseline")
        if baseline is not None and baseline not in workload["optimizers"]:
            raise ConfigError(f"workloads.{name}.baseline: '{baseline}' is not among its optimizers")
        for variant, overrides in workload["variants"].items():
            settings = workload_settings(workload)
            for key, value in (overrides or {}).items():
                try:
                    set_dotted(settings, key, value)
                except ConfigError as err:
                    raise ConfigError(f"workloads.{name}.variants.{variant}: {err}") from None
            if overrides:
                validate_variant(name, workload, variant, settings)
            check = WORKLOAD_CHECKS.get(name)
            if check:
                check(settings, f"workloads.{name}" + ("" if variant == "base" else f".variants.{variant}"))


def check_charlm(settings: dict, where: str) -> None:
    model, train = settings["model"], settings["train"]
    if train["lmin"] > train["lmax"]:
        raise ConfigError(f"{where}.train.lmin ({train['lmin']}) is larger than train.lmax ({train['lmax']})")
    if train["lmax"] > model["ctx"]:
        raise ConfigError(f"{where}.train.lmax ({train['lmax']}) is larger than model.ctx ({model['ctx']})")
    if model["d_model"] % model["n_head"]:
        raise ConfigError(f"{where}.model.d_model ({model['d_model']}) is not divisible by model.n_head")
    from testbeds.schedule import parse_lr_schedule

    try:
        parse_lr_schedule(train["lr_schedule"])
    except ValueError as err:
        raise ConfigError(f"{where}.train.lr_schedule: {err}") from None


def check_sotalm(settings: dict, where: str) -> None:
    model, train = settings["model"], settings["train"]
    if model["d_model"] % model["n_head"] or (model["d_model"] // model["n_head"]) % 2:
        raise ConfigError(f"{where}.model.n_head: d_model ({model['d_model']}) / n_head must be an even integer (RoPE)")
    if (train["steps"] is None) == (train["epochs"] is None):
        raise ConfigError(f"{where}.train.steps / train.epochs: set exactly one of them (the other null)")


def check_lot(settings: dict, where: str) -> None:
    model = settings["model"]
    rows, cols = model["lattice_shape"]
    if rows * cols != model["n_head"]:
        raise ConfigError(f"{where}.model.lattice_shape: {rows}x{cols} does not hold n_head = {model['n_head']} heads")
    if model["d_model"] % model["n_head"]:
        raise ConfigError(f"{where}.model.n_head: d_model ({model['d_model']}) is not divisible by n_head")
    low, high = model["init_freq_range"]
    if low > high:
        raise ConfigError(f"{where}.model.init_freq_range: [{low}, {high}] is empty")


def check_lds(settings: dict, where: str) -> None:
    data, model, e = settings["data"], settings["model"], settings["eval"]
    P = model["patch_size"]
    if model["d_model"] % model["n_head"] or (model["d_model"] // model["n_head"]) % 2:
        raise ConfigError(f"{where}.model.n_head: d_model ({model['d_model']}) / n_head must be an even integer (RoPE)")
    if data["task"] == "bigram" and P != 1:
        raise ConfigError(f"{where}.model.patch_size: the bigram task takes tokens one by one (patch_size 1), not {P}")
    for section, key, value in (
        ("data", "seq_len", data["seq_len"]),
        ("eval", "rollout_warmup", e["rollout_warmup"]),
        ("eval", "rollout_horizon", e["rollout_horizon"]),
    ):
        if value % P:
            raise ConfigError(f"{where}.{section}.{key} ({value}) is not a multiple of model.patch_size ({P})")
    tokens = max(data["seq_len"], e["rollout_warmup"] + e["rollout_horizon"]) // P + 1
    if model["positional"] == "learned" and model["max_positions"] < tokens:
        raise ConfigError(
            f"{where}.model.max_positions ({model['max_positions']}) is smaller than the {tokens} "
            "token positions that training and rollouts use"
        )
    train = settings["train"]
    if train["warmup_steps"] >= train["steps"]:
        raise ConfigError(
            f"{where}.train.warmup_steps ({train['warmup_steps']}) must be smaller than train.steps "
            f"({train['steps']}): the cosine decay follows the warm-up"
        )
    if data["kf_burn_in"] >= data["kf_length"]:
        raise ConfigError(
            f"{where}.data.kf_burn_in ({data['kf_burn_in']}) leaves no step of kf_length "
            f"({data['kf_length']}) to measure the Kalman MSE on"
        )


def check_heat2d(settings: dict, where: str) -> None:
    data, model = settings["data"], settings["model"]
    if data["source"] == "generated":
        for key in ("nx", "ny"):
            if data[key] % model["patch"]:
                raise ConfigError(f"{where}.model.patch ({model['patch']}) does not divide data.{key} ({data[key]})")
        if model["context_frames"] >= data["frames"]:
            raise ConfigError(
                f"{where}.model.context_frames ({model['context_frames']}) leaves no frame of "
                f"data.frames ({data['frames']}) to predict"
            )
        for key in ("alpha", "left", "right", "bottom", "top", "initial"):
            low, high = data[key]
            if low > high:
                raise ConfigError(f"{where}.data.{key}: [{low}, {high}] is empty")
        if data["alpha"][0] <= 0:
            raise ConfigError(f"{where}.data.alpha: the diffusivity must be positive, not {data['alpha'][0]}")
    elif not data["path"]:
        raise ConfigError(f"{where}.data.path: source 'file' needs the path of a [samples, t, ny, nx] .npy or .npz")
    if sum(data["split"]) >= 1:
        raise ConfigError(f"{where}.data.split: {data['split']} leaves no test split")
    if (model["dim"] // model["heads"]) % 2 or model["dim"] % model["heads"]:
        raise ConfigError(f"{where}.model.heads: dim ({model['dim']}) / heads must be an even integer (RoPE)")
    try:
        from testbeds.schedule import parse_lr_schedule

        parse_lr_schedule(settings["train"]["lr_schedule"])
    except ValueError as err:
        raise ConfigError(f"{where}.train.lr_schedule: {err}") from None


WORKLOAD_CHECKS = {
    "charlm": check_charlm,
    "sotalm": check_sotalm,
    "lot": check_lot,
    "lds": check_lds,
    "heat2d": check_heat2d,
}

SETTING_SECTIONS = ("data", "tokenizer", "model", "loss", "train", "eval")

# Workloads whose data set a generator writes (a pipeline rule; rerun.py and the benchmarks call it too):
# workload -> module with write_dataset(settings, out) -> manifest (with a "sha256").
DATA_GENERATORS = {"lds": "testbeds.lds.data", "heat2d": "testbeds.heat2d.data"}


def write_generated_data(workload: str, settings: dict, out: Path) -> dict:
    import importlib

    return importlib.import_module(DATA_GENERATORS[workload]).write_dataset(settings, out)


def workload_settings(workload: dict) -> dict:
    """The part of a workload entry that variants may override."""
    return {k: copy.deepcopy(workload[k]) for k in SETTING_SECTIONS if k in workload}


def resolve_run(config: dict, workload: str, variant: str, optimizer: str, seed: int) -> dict:
    """The complete, self-contained settings of one run of the grid."""
    entry = config["workloads"][workload]
    if variant not in entry["variants"]:
        raise ConfigError(f"workloads.{workload}.variants: no variant '{variant}'")
    if optimizer not in entry["optimizers"]:
        raise ConfigError(f"workloads.{workload}.optimizers: '{optimizer}' is not run for this workload")
    settings = workload_settings(entry)
    for key, value in (entry["variants"][variant] or {}).items():
        set_dotted(settings, key, value)
    return {
        "workload": workload,
        "variant": variant,
        "optimizer": {
            "label": optimizer,
            **with_defaults(
                {**config["optimizers"][optimizer], **entry.get("optimizer_overrides", {}).get(optimizer, {})}
            ),
        },
        "seed": int(seed),
        "framework": entry["framework"],
        "device": entry["device"],
        "threads": entry["resources"]["threads"],
        "speedups": entry["speedups"],
        **settings,
    }


def config_hash(run: dict) -> str:
    """A short, stable hash of a resolved run (key order does not matter)."""
    text = json.dumps(run, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def data_key(data_settings: dict) -> str:
    """Directory key of a prepared data set: runs with the same data section share it."""
    return config_hash(data_settings)[:12]


def data_dir(results: str | Path, workload: str, data_settings: dict) -> Path:
    return Path(results) / "data" / workload / data_key(data_settings)


def grid_runs(config: dict) -> list[dict]:
    """Every (workload, variant, optimizer, seed) of the grid, as wildcard dicts."""
    return [
        {"workload": w, "variant": v, "optimizer": o, "seed": s}
        for w in config["grid"]["workloads"]
        for v in config["workloads"][w]["variants"]
        for o in config["workloads"][w]["optimizers"]
        for s in config["grid"]["seeds"]
    ]
