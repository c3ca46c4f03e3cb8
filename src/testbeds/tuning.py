"""Hyper-parameter tuning: search spaces, quasi-random trial points and the choice of the best trial.

An optimiser entry may carry ``search: {dotted key: distribution}``; the keys are its own options
(``optimizer.weight_decay``) or run settings (``train.lr``). A workload's ``tuning: {budget, seed}`` says how
many trials each of its optimisers gets. Trial ``k`` of every optimiser of a workload is point ``k`` of one
scrambled Halton sequence over the union of their dimensions, so optimisers that search the same key over
the same range try the same values, and raising the budget only appends points. (docs/tuning.md)

Framework-free: the Snakefile, the config checks and the select step import it.
"""

from __future__ import annotations

import copy
import math

DISTRIBUTIONS = ("log_uniform", "uniform", "choice")
FIRST_DIMENSION = "train.lr"  # always the sequence's first coordinate, so it never moves when keys are added


class SearchError(ValueError):
    """A search space or tuning setting that cannot work; the message names the key."""


def check_distribution(key: str, distribution: dict) -> None:
    """One distribution: exactly one kind, with bounds that make sense."""
    if not isinstance(distribution, dict) or len(distribution) != 1 or next(iter(distribution)) not in DISTRIBUTIONS:
        raise SearchError(f"search key '{key}': give exactly one of {', '.join(DISTRIBUTIONS)}, not {distribution!r}")
    ((kind, values),) = distribution.items()
    if kind == "choice":
        if not isinstance(values, list) or not values:
            raise SearchError(f"search key '{key}': choice needs a non-empty list")
        return
    if not (isinstance(values, list) and len(values) == 2 and all(_is_number(v) for v in values)):
        raise SearchError(f"search key '{key}': {kind} needs [lo, hi], two numbers, not {values!r}")
    lo, hi = values
    if lo >= hi:
        raise SearchError(f"search key '{key}': {kind} needs lo < hi, got [{lo}, {hi}]")
    if kind == "log_uniform" and lo <= 0:
        raise SearchError(f"search key '{key}': log_uniform needs positive bounds, got [{lo}, {hi}]")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def extremes(distribution: dict) -> list:
    """The values at the ends of a distribution (every value of a choice): what validation tries."""
    return list(next(iter(distribution.values())))


def dimensions(spaces: list[dict]) -> list[str]:
    """The keys of a workload's search spaces as coordinates of one sequence: the learning rate first."""
    return sorted({key for space in spaces for key in space}, key=lambda k: (k != FIRST_DIMENSION, k))


def unit_points(n_dimensions: int, budget: int, seed: int):
    """``budget`` points of the scrambled Halton sequence in [0, 1)^d; a prefix of any longer budget's."""
    from scipy.stats import qmc

    if budget == 0 or n_dimensions == 0:
        return [[] for _ in range(budget)]
    return qmc.Halton(d=n_dimensions, scramble=True, seed=seed).random(budget).tolist()


def value_at(distribution: dict, u: float):
    """The value at quantile ``u`` of a distribution, rounded to 6 significant digits (stable in run JSON)."""
    ((kind, values),) = distribution.items()
    if kind == "choice":
        return values[min(int(u * len(values)), len(values) - 1)]
    lo, hi = values
    if kind == "log_uniform":
        value = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    else:
        value = lo + u * (hi - lo)
    return float(f"{value:.6g}")


def trial_points(spaces: dict[str, dict], budget: int, seed: int) -> dict[str, list[dict]]:
    """optimizer -> its ``budget`` trial settings ({dotted key: value}), from one sequence for all of them."""
    keys = dimensions(list(spaces.values()))
    points = unit_points(len(keys), budget, seed)
    return {
        name: [{key: value_at(space[key], point[keys.index(key)]) for key in space} for point in points]
        for name, space in spaces.items()
    }


def apply(run: dict, settings: dict) -> dict:
    """A resolved run with ``settings`` ({dotted key: value}) applied; ``optimizer.X`` sets option X."""
    from testbeds.config import set_dotted

    run = {**run, "optimizer": dict(run["optimizer"])}
    for key, value in settings.items():
        if key.startswith("optimizer."):
            run["optimizer"][key.split(".", 1)[1]] = value
        else:
            section = key.split(".", 1)[0]
            run[section] = copy.deepcopy(run[section])  # the caller's run is not changed
            set_dotted(run, key, value)
    return run


def select(trials: list[dict], higher_is_better: bool) -> dict:
    """The best trial by validation value; a diverged or unscored trial is never chosen, ties go to the lower
    index. ``trials``: dicts with ``trial``, ``status``, ``value``, ``settings``. All failed: status failed."""
    usable = [t for t in trials if t["status"] == "ok" and t["value"] is not None and math.isfinite(t["value"])]
    if not usable:
        return {"status": "failed", "trial": None, "settings": None, "value": None}
    sign = -1 if higher_is_better else 1
    best = min(usable, key=lambda t: (sign * t["value"], t["trial"]))
    return {"status": "ok", "trial": best["trial"], "settings": best["settings"], "value": best["value"]}
