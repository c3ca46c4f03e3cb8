"""Grid configuration: loading, validation, dotted overrides and per-run resolution.

The same functions serve the Snakefile (which validates ``config`` before any job
starts) and the scripts run on their own (``--config ... --set model.d_model=256``),
so a run resolved either way is the same dictionary with the same hash.
"""

from __future__ import annotations

import ast
import copy
import functools
import importlib.util
from pathlib import Path

import yaml

from testbeds import tuning, workloads
from testbeds.optim.options import (
    ALGORITHMS,
    FRAMEWORKS,
    algorithm,
    available,
    is_imported,
    is_schedule_free,
    options_schema,
    with_defaults,
)
from testbeds.schedule import lr_at, parse_lr_schedule
from testbeds.settings import REPO, ConfigError, config_hash, deep_merge, set_dotted

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
DEFAULT_CONFIG = REPO / "config" / "config.yaml"


NAME_PATTERN = r"[A-Za-z0-9_-]+"  # variant and optimizer names (the schema's propertyNames say the same)


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

    Raises ConfigError naming the key.
    """
    import jsonschema

    problem = _first_error(jsonschema.Draft202012Validator(_schema()), config)
    if problem:
        raise ConfigError(problem)
    for name, entry in config["workloads"].items():
        validate_workload(name, entry, f"workloads.{name}")
    check_consistency(config)


def validate_claims(claims: dict, where: str | Path = "config/claims.yaml") -> None:
    """A claims file (``where``) against workflow/schemas/claims.schema.yaml; raises ConfigError naming the key."""
    import jsonschema

    schema = load_config([REPO / "workflow" / "schemas" / "claims.schema.yaml"])
    problem = _first_error(jsonschema.Draft202012Validator(schema), claims)
    if problem:
        raise ConfigError(f"{where}: {problem}")


def load_claims(config: dict) -> list[dict]:
    """The claims of ``claims.file``, validated."""
    path = claims_file(config)
    if not path.is_file():
        raise ConfigError(f"claims.file: {path} does not exist")
    claims = load_config([path])
    validate_claims(claims, path)
    return claims["claims"]


@functools.cache
def workload_schema(name: str) -> dict:
    """The schema of workload ``name``'s entry: the keys every workload has, and its package's sections."""
    spec = workloads.workload(name)
    with open(spec.directory / "config.schema.yaml") as handle:
        own = yaml.safe_load(handle)
    defs = _schema()["$defs"]
    common = defs["workload"]
    properties = {
        **common["properties"],
        "framework": {"const": spec.framework},
        "device": {"enum": list(spec.devices)},
    }
    return {
        "$defs": defs,
        "type": "object",
        "additionalProperties": False,
        "required": common["required"] + own["required"],
        "properties": {**properties, **own["properties"]},
    }


def validate_workload(name: str, entry: dict, where: str) -> None:
    """A workload entry (or one with a variant's overrides) against its schema: types, enums, ranges."""
    import jsonschema

    try:
        schema = workload_schema(name)
    except KeyError as err:
        raise ConfigError(f"config key '{where}': {err.args[0]}") from None
    problem = _first_error(jsonschema.Draft202012Validator(schema), entry, where)
    if problem:
        raise ConfigError(problem)


def validate_optimizer(where: str, spec: dict) -> None:
    """An optimizer entry (after a workload's overrides) against its algorithm's options in the table."""
    import jsonschema

    spec = {k: v for k, v in spec.items() if k != "search"}  # the search space is checked per workload
    if is_imported(spec):
        validate_imported(where, spec)
        return
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


def validate_imported(where: str, spec: dict) -> None:
    """A researcher's own optimiser: ``import`` names a factory as "module:function", ``framework`` the one
    framework it is built for; its other keys are its options, which its factory checks."""
    module, _, function = str(spec["import"]).partition(":")
    if not (module and function) or "algorithm" in spec:
        raise ConfigError(
            f"config key '{where}.import': {spec['import']!r} should name a factory as \"module:function\" "
            "(and the entry have no 'algorithm')"
        )
    if spec.get("framework") not in FRAMEWORKS:
        raise ConfigError(
            f"config key '{where}.framework': {spec.get('framework')!r} is not one of {', '.join(FRAMEWORKS)} "
            "(the framework the imported optimiser is built for)"
        )
    try:
        found = importlib.util.find_spec(module)
    except ImportError:
        found = None
    if found is None:
        raise ConfigError(
            f"config key '{where}.import': cannot find module {module!r} (install it in this environment, or "
            "put its folder on PYTHONPATH)"
        )
    names = top_level_names(found.origin)
    if names is not None and function not in names:
        raise ConfigError(f"config key '{where}.import': module {module!r} ({found.origin}) defines no {function!r}")


def top_level_names(origin: str | None) -> set[str] | None:
    """The names a Python source file defines at its top level (functions, classes, assignments, imports),
    read without importing it; None where that cannot be known (no source, ``from x import *``, a module
    ``__getattr__``)."""
    if not origin or not origin.endswith(".py"):
        return None
    names: set[str] = set()
    for node in ast.parse(Path(origin).read_text(), filename=origin).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any(alias.name == "*" for alias in node.names):
                return None
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return None if "__getattr__" in names else names


def runs_on(config: dict, workload: str, optimizer: str) -> bool:
    """Whether ``optimizer`` exists for ``workload``'s framework (an imported one runs on its own only; the
    tables say "not available" elsewhere)."""
    return available(config["optimizers"][optimizer], config["workloads"][workload]["framework"])


def unavailable(config: dict) -> dict[str, list[str]]:
    """workload -> the optimizers it lists that its framework does not have (for the grid's workloads)."""
    return {
        w: [o for o in config["workloads"][w]["optimizers"] if not runs_on(config, w, o)]
        for w in config["grid"]["workloads"]
    }


def schedule_free(config: dict) -> list[str]:
    """The grid's Schedule-Free optimizers (no learning-rate decay, evaluated at their average)."""
    named = {o for w in config["grid"]["workloads"] for o in config["workloads"][w]["optimizers"]}
    return sorted(o for o in named if is_schedule_free(config["optimizers"][o]))


def check_consistency(config: dict) -> None:
    """The rules a JSON schema cannot state: references between sections and ranges."""
    optimizers = config["optimizers"]
    for name, spec in optimizers.items():
        validate_optimizer(f"optimizers.{name}", spec)
    for name in config["grid"]["workloads"]:
        if name not in config["workloads"]:
            raise ConfigError(f"grid.workloads: '{name}' has no entry under 'workloads'")
    check_imported_runs_somewhere(config)
    looks = sequential_looks(config)
    if looks and any(b <= a for a, b in zip(looks, looks[1:])):
        raise ConfigError(f"claims.sequential.looks: the seeds of each look must increase, got {looks}")
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
        check_tuning(config, name)
        for opt in workload["optimizers"] if tuning_settings(config, name)["budget"] else []:
            if runs_on(config, name, opt):
                check_search(config, name, opt)  # a search space only matters where tuning uses it
        check_target(name, workload)
        path = (workload.get("data") or {}).get("path")
        if path and Path(path).is_dir():
            raise ConfigError(f"workloads.{name}.data.path: {path} is a directory; give the data file itself")
        baseline = workload.get("baseline")
        if baseline is not None and baseline not in workload["optimizers"]:
            raise ConfigError(f"workloads.{name}.baseline: '{baseline}' is not among its optimizers")
        if baseline is not None and not runs_on(config, name, baseline):
            raise ConfigError(f"workloads.{name}.baseline: '{baseline}' is not available for {workload['framework']}")
        for variant, overrides in workload["variants"].items():
            settings = workload_settings(workload)
            for key, value in (overrides or {}).items():
                try:
                    set_dotted(settings, key, value)
                except ConfigError as err:
                    raise ConfigError(f"workloads.{name}.variants.{variant}: {err}") from None
            if overrides:
                validate_workload(name, {**workload, **settings}, f"workloads.{name}.variants.{variant}")
            where = f"workloads.{name}" + ("" if variant == "base" else f".variants.{variant}")
            workloads.workload(name).check(settings, where)


def check_imported_runs_somewhere(config: dict) -> None:
    """An imported optimiser is built for one framework: some workload of the grid that lists it must use it."""
    for opt, spec in config["optimizers"].items():
        listing = [
            w for w in config["grid"]["workloads"] if opt in config["workloads"].get(w, {}).get("optimizers", [])
        ]
        if is_imported(spec) and listing and not any(runs_on(config, w, opt) for w in listing):
            frameworks = ", ".join(f"{w}: {config['workloads'][w]['framework']}" for w in listing)
            raise ConfigError(
                f"optimizers.{opt}.framework: {spec['framework']} matches none of the workloads that list it "
                f"({frameworks}), so it would run nowhere"
            )


def check_target(name: str, workload: dict) -> None:
    """A time-to-target ``target`` (one value or one per variant) names real variants and can be reached:
    not below the best possible value of the workload's validation metric."""
    target = workload.get("target")
    values = target if isinstance(target, dict) else {"": target}
    best = workloads.workload(name).best_validation
    for variant, value in values.items():
        where = f"workloads.{name}.target" + (f".{variant}" if variant else "")
        if variant and variant not in workload["variants"]:
            raise ConfigError(f"workloads.{name}.target: '{variant}' is not one of its variants")
        if value is not None and best is not None and value < best:
            raise ConfigError(
                f"{where}: {value} is below the validation metric's best possible value {best}, so no run can reach it"
            )


def optimizer_entry(config: dict, workload: str, optimizer: str) -> dict:
    """An optimizer's config entry as a workload runs it: the shared entry with the workload's overrides."""
    return {
        **config["optimizers"][optimizer],
        **config["workloads"][workload].get("optimizer_overrides", {}).get(optimizer, {}),
    }


def search_space(config: dict, workload: str, optimizer: str) -> dict:
    """{dotted key: distribution} that ``optimizer`` searches on ``workload`` (empty: nothing to tune)."""
    return optimizer_entry(config, workload, optimizer).get("search") or {}


def tuning_settings(config: dict, workload: str) -> dict:
    """A workload's ``tuning`` section; none means the defaults track (budget 0)."""
    return {"budget": 0, "seed": 0, "extend": 0, "studies": 1, **config["workloads"][workload].get("tuning", {})}


def check_tuning(config: dict, name: str) -> None:
    """A budget that can be planned, and a tuning seed that no evaluated run uses: a choice made on a seed's
    noise would be scored on the same noise."""
    settings = tuning_settings(config, name)
    try:
        tuning.check_settings(settings, f"workloads.{name}")
    except tuning.SearchError as err:
        raise ConfigError(str(err)) from None
    if settings["budget"] and name in config["grid"]["workloads"] and settings["seed"] in config["grid"]["seeds"]:
        raise ConfigError(
            f"workloads.{name}.tuning.seed: {settings['seed']} is also in grid.seeds {config['grid']['seeds']}; "
            "tuning picks settings on that seed's noise, so scoring it again would favour the flattest optimizer: "
            "give tuning a seed of its own"
        )


def valid_settings(config: dict, workload: str, optimizer: str, settings: dict) -> bool:
    """Whether searched ``settings`` ({dotted key: value}) make a valid run (an extension round may step past
    a declared bound, e.g. a momentum past 1)."""
    run = resolve_run(config, workload, next(iter(config["workloads"][workload]["variants"])), optimizer, 0)
    try:
        for key, value in settings.items():
            section, _, leaf = key.partition(".")
            if section == "optimizer":
                validate_optimizer(key, {**run["optimizer"], leaf: value})
            else:
                entry = workload_settings(config["workloads"][workload])
                set_dotted(entry, key, value)
                validate_workload(workload, {**config["workloads"][workload], **entry}, key)
    except ConfigError:
        return False
    return True


def check_search(config: dict, workload: str, optimizer: str) -> None:
    """Every search key names a setting of the workload or an option of the optimizer, every distribution
    has sensible bounds, and both ends of each range are valid values of the setting."""
    where = f"workloads.{workload}: optimizer '{optimizer}'"
    run = resolve_run(config, workload, next(iter(config["workloads"][workload]["variants"])), optimizer, 0)
    options = algorithm(run["optimizer"]).options
    for key, distribution in search_space(config, workload, optimizer).items():
        try:
            tuning.check_distribution(key, distribution)
        except tuning.SearchError as err:
            raise ConfigError(f"{where}: {err}") from None
        section, _, leaf = key.partition(".")
        if section == "optimizer":
            if leaf not in options:
                raise ConfigError(
                    f"{where}: search key '{key}' is not an option of {run['optimizer']['algorithm']} "
                    f"(options: {', '.join(options)})"
                )
        elif section not in workload_settings(config["workloads"][workload]):
            raise ConfigError(f"{where}: search key '{key}' names no setting of {workload}")
        elif key == "train.lr" and run["train"].get("schedule") == "source" and run["train"].get("lr_schedule"):
            raise ConfigError(
                f"{where}: search key 'train.lr' has no effect while train.lr_schedule "
                f"({run['train']['lr_schedule']!r}) sets absolute rates: set tuning.budget to 0 or clear the schedule"
            )
        for value in tuning.extremes(distribution):
            at = f"{where}: search key '{key}' = {value!r}"
            if section == "optimizer":
                validate_optimizer(at, {**run["optimizer"], leaf: value})
                continue
            settings = workload_settings(config["workloads"][workload])
            try:
                set_dotted(settings, key, value)
            except ConfigError as err:
                raise ConfigError(f"{where}: search key '{key}': {err}") from None
            validate_workload(workload, {**config["workloads"][workload], **settings}, at)


def write_generated_data(workload: str, settings: dict, out: Path) -> dict:
    """Make a generated workload's data set (its data.py's ``write_dataset``); returns the manifest."""
    return workloads.step(workload, "data").write_dataset(settings, out)


def workload_settings(workload: dict) -> dict:
    """The part of a workload entry that variants may override: its own sections (data, model, train, ...)."""
    common = _schema()["$defs"]["workload"]["properties"]
    return {k: copy.deepcopy(v) for k, v in workload.items() if k not in common}


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
    spec = optimizer_entry(config, workload, optimizer)
    if is_schedule_free(spec):
        without_decay(settings["train"])
    return {
        "workload": workload,
        "variant": variant,
        "optimizer": {
            "label": optimizer,
            **with_defaults({k: v for k, v in spec.items() if k != "search"}),
        },
        "seed": int(seed),
        "framework": entry["framework"],
        "device": entry["device"],
        "threads": entry["resources"]["threads"],
        "speedups": entry["speedups"],
        **settings,
    }


def without_decay(train: dict) -> None:
    """A Schedule-Free run's schedule: the workload's warm-up, then its base rate (a piecewise schedule keeps its
    first step's rate, a cosine ends where it starts)."""
    if train.get("lr_schedule"):
        train["lr"] = lr_at(1, train["lr"], parse_lr_schedule(train["lr_schedule"]))
        train["lr_schedule"] = ""
    if "min_lr_frac" in train:
        train["min_lr_frac"] = 1.0


def data_key(data_settings: dict) -> str:
    """Directory key of a prepared data set: runs with the same data section share it."""
    return config_hash(data_settings)[:12]


def data_dir(results: str | Path, workload: str, data_settings: dict) -> Path:
    return Path(results) / "data" / workload / data_key(data_settings)


def grid_cells(config: dict) -> list[dict]:
    """Every (workload, variant, optimizer) of the grid, as wildcard dicts: what tuning and statistics see (an
    optimizer only where the workload's framework has it)."""
    return [
        {"workload": w, "variant": v, "optimizer": o}
        for w in config["grid"]["workloads"]
        for v in config["workloads"][w]["variants"]
        for o in config["workloads"][w]["optimizers"]
        if runs_on(config, w, o)
    ]


def claims_file(config: dict) -> Path:
    """The claims the report measures (claims.file; config/claims.yaml by default)."""
    return Path(config.get("claims", {}).get("file", "config/claims.yaml"))


def sequential_looks(config: dict) -> list[int] | None:
    """The seeds of each look of a sequential design (claims.sequential.looks), or None: a fixed design."""
    return config.get("claims", {}).get("sequential", {}).get("looks")


def look_seeds(config: dict, count: int) -> list[int]:
    """The first ``count`` seeds of a claim's cells: grid.seeds, then the integers after their largest."""
    seeds = list(config["grid"]["seeds"])
    return (seeds + list(range(max(seeds) + 1, max(seeds) + 1 + count)))[:count]


def grid_runs(config: dict) -> list[dict]:
    """Every (workload, variant, optimizer, seed) of the grid, as wildcard dicts."""
    return [{**cell, "seed": s} for cell in grid_cells(config) for s in config["grid"]["seeds"]]
