"""Hyper-parameter tuning: search spaces, quasi-random trial points and the choice of the best trial.

An optimiser entry may carry ``search: {dotted key: distribution}``; the keys are its own options
(``optimizer.weight_decay``) or run settings (``train.lr``). A workload's ``tuning: {budget, seed, extend,
studies}`` says how many trials each of its optimisers gets. Trial ``k`` of every optimiser of a workload is
point ``k`` of one scrambled Halton sequence over the union of their dimensions, so optimisers that search the
same key over the same range try the same values, and raising the budget only appends points. ``extend``
rounds then add one trial each around the choice so far, one key a round: one step past the edge where the
choice sits at the lowest or highest value tried, else the midpoint towards its better neighbour. ``studies`` repeats the whole search with independent scrambles; the
final runs take the median study's choice. (docs/tuning.md)

Framework-free: the Snakefile, the config checks and the select step import it.
"""

from __future__ import annotations

import copy
import math

from testbeds.settings import set_dotted

DISTRIBUTIONS = ("log_uniform", "uniform", "choice")
FIRST_DIMENSION = "train.lr"  # always the sequence's first coordinate, so it never moves when keys are added
MAX_TRIALS = 10_000  # per cell: more would take minutes of planning alone (and years of training)


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


def unit_points(n_dimensions: int, budget: int, seed: int, study: int = 0):
    """``budget`` points of the scrambled Halton sequence in [0, 1)^d; a prefix of any longer budget's. Each
    study has its own scramble (study 0's is the tuning seed's)."""
    import numpy as np
    from scipy.stats import qmc

    if budget == 0 or n_dimensions == 0:
        return [[] for _ in range(budget)]
    scramble = seed if study == 0 else np.random.default_rng([seed, study])
    return qmc.Halton(d=n_dimensions, scramble=True, seed=scramble).random(budget).tolist()


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


def trial_points(spaces: dict[str, dict], budget: int, seed: int, study: int = 0) -> dict[str, list[dict]]:
    """optimizer -> its ``budget`` trial settings ({dotted key: value}), from one sequence for all of them."""
    keys = dimensions(list(spaces.values()))
    points = unit_points(len(keys), budget, seed, study)
    return {
        name: [{key: value_at(space[key], point[keys.index(key)]) for key in space} for point in points]
        for name, space in spaces.items()
    }


def apply(run: dict, settings: dict) -> dict:
    """A resolved run with ``settings`` ({dotted key: value}) applied; ``optimizer.X`` sets option X."""
    run = {**run, "optimizer": dict(run["optimizer"])}
    for key, value in settings.items():
        if key.startswith("optimizer."):
            run["optimizer"][key.split(".", 1)[1]] = value
        else:
            section = key.split(".", 1)[0]
            run[section] = copy.deepcopy(run[section])  # the caller's run is not changed
            set_dotted(run, key, value)
    return run


def select(trials: list[dict], direction: str) -> dict:
    """The best trial by validation value; a diverged or unscored trial is never chosen, ties go to the lower
    index. ``trials``: dicts with ``trial``, ``status``, ``value``, ``settings``. All failed: status failed."""
    usable = [t for t in trials if t["status"] == "ok" and t["value"] is not None and math.isfinite(t["value"])]
    if not usable:
        return {"status": "failed", "trial": None, "settings": None, "value": None}
    sign = -1 if direction == "max" else 1
    best = min(usable, key=lambda t: (sign * t["value"], t["trial"]))
    return {"status": "ok", "trial": best["trial"], "settings": best["settings"], "value": best["value"]}


def check_settings(settings: dict, where: str) -> None:
    """A workload's ``tuning`` section: a budget that can be planned."""
    trials = (settings["budget"] + settings.get("extend", 0)) * settings.get("studies", 1)
    if trials > MAX_TRIALS:
        raise SearchError(
            f"{where}.tuning: budget {settings['budget']} (with extend and studies: {trials} trials per optimizer) "
            f"is more than {MAX_TRIALS:,} trials per optimizer"
        )


def trial_slot(trial: int, budget: int, extend: int) -> tuple[int, int]:
    """Trial index -> (study, index within the study): each study has ``budget + extend`` trials, its
    extension rounds last."""
    return divmod(trial, budget + extend)


def is_numeric(distribution: dict) -> bool:
    return next(iter(distribution)) in ("log_uniform", "uniform")


def tried_ranges(trials: list[dict], space: dict) -> dict[str, list]:
    """{key: [lowest, highest]} of each numeric searched key over the trials run (diverged ones included)."""
    ranges = {}
    for key, distribution in space.items():
        values = [t["settings"][key] for t in trials if key in (t.get("settings") or {})]
        if is_numeric(distribution) and values:
            ranges[key] = [min(values), max(values)]
    return ranges


def edges(chosen: dict | None, trials: list[dict], space: dict) -> dict[str, str]:
    """{key: "low" | "high"} for each numeric key whose chosen value is the lowest or highest value tried:
    the optimum may lie past it. A value bracketed by a diverged trial beyond it is not at an edge."""
    if not chosen:
        return {}
    ranges = tried_ranges(trials, space)
    at_edge = {}
    for key, (low, high) in ranges.items():
        if low == high:
            continue
        if chosen[key] == low:
            at_edge[key] = "low"
        elif chosen[key] == high:
            at_edge[key] = "high"
    return at_edge


def to_scale(distribution: dict, value: float) -> float:
    """A value in its key's scale: log for log_uniform, as is for uniform."""
    return math.log(value) if next(iter(distribution)) == "log_uniform" else value


def from_scale(distribution: dict, x: float) -> float:
    """Back from the key's scale, rounded to 6 significant digits (stable in run JSON)."""
    value = math.exp(x) if next(iter(distribution)) == "log_uniform" else x
    return float(f"{value:.6g}")


def step_size(distribution: dict, budget: int) -> float:
    """The declared width in the key's scale divided by the budget: the spacing of a budget's points."""
    lo, hi = next(iter(distribution.values()))
    return (to_scale(distribution, hi) - to_scale(distribution, lo)) / max(budget, 1)


def step_past(distribution: dict, value: float, side: str, budget: int) -> float:
    """One step (``step_size``) past ``value`` on ``side``, in the key's scale."""
    sign = -1 if side == "low" else 1
    return from_scale(distribution, to_scale(distribution, value) + sign * step_size(distribution, budget))


def extension_key(space: dict, round_index: int) -> str | None:
    """The one key an extension round moves: the numeric keys in turn, the learning rate first."""
    keys = dimensions([{k: d for k, d in space.items() if is_numeric(d)}])
    return keys[round_index % len(keys)] if keys else None


def in_scale(distribution: dict, a: float, b: float) -> float:
    """The midpoint of ``a`` and ``b`` in the key's scale (geometric for log_uniform)."""
    return from_scale(distribution, (to_scale(distribution, a) + to_scale(distribution, b)) / 2)


def badness(trial: dict, direction: str) -> float:
    """A trial's validation value, lower being better whatever the metric's direction; a diverged or unscored
    trial is the worst (infinite)."""
    finite = trial["status"] == "ok" and trial["value"] is not None and math.isfinite(trial["value"])
    return (-1 if direction == "max" else 1) * trial["value"] if finite else math.inf


def better_neighbour(key: str, chosen: dict, trials: list[dict], direction: str) -> float | None:
    """The value of ``key`` next to the chosen one, below or above it among the trials, whose trial scored
    better (a diverged trial worst); None when no other value was tried."""
    value = chosen[key]
    tried = [t for t in trials if key in (t.get("settings") or {}) and t["settings"][key] != value]
    below = [t for t in tried if t["settings"][key] < value]
    above = [t for t in tried if t["settings"][key] > value]
    nearest = [
        min(side, key=lambda t: (abs(t["settings"][key] - value), badness(t, direction)))
        for side in (below, above)
        if side
    ]
    if not nearest:
        return None
    return min(nearest, key=lambda t: badness(t, direction))["settings"][key]


def parabola_vertex(key: str, selection: dict, distribution: dict, edge: str | None, budget: int) -> float | None:
    """Where the parabola through the choice and its two nearest values of ``key`` (in the key's scale) has its
    minimum, among the trials that share the choice's other settings, kept between the neighbours inside the
    values tried and at most one ``step_size`` past the choice at an edge. None with fewer than three such values, a
    parabola that opens the wrong way, or a vertex at the choice itself."""
    chosen = selection["settings"]
    scores: dict[float, float] = {}
    for trial in selection.get("trials") or []:
        settings = trial.get("settings") or {}
        same_elsewhere = all(settings.get(k) == v for k, v in chosen.items() if k != key)
        score = badness(trial, selection["direction"])
        if key in settings and same_elsewhere and math.isfinite(score):
            x = to_scale(distribution, settings[key])
            scores[x] = min(scores.get(x, math.inf), score)
    xs = sorted(scores)
    centre = to_scale(distribution, chosen[key])
    if len(xs) < 3 or centre not in scores:
        return None
    i = min(max(xs.index(centre), 1), len(xs) - 2)  # the choice and its neighbours, or the two next to an edge
    (x1, x2, x3), (f1, f2, f3) = xs[i - 1 : i + 2], [scores[x] for x in xs[i - 1 : i + 2]]
    curvature = ((f3 - f2) / (x3 - x2) - (f2 - f1) / (x2 - x1)) / (x3 - x1)
    if curvature <= 0:
        return None
    vertex = x2 - 0.5 * ((x2 - x1) ** 2 * (f2 - f3) - (x2 - x3) ** 2 * (f2 - f1)) / (
        (x2 - x1) * (f2 - f3) - (x2 - x3) * (f2 - f1)
    )
    step = step_size(distribution, budget)
    low, high = (centre - step, centre) if edge == "low" else (centre, centre + step) if edge == "high" else (x1, x3)
    vertex = min(max(vertex, low), high)
    return from_scale(distribution, vertex) if vertex != centre else None


def extension_point(selection: dict, space: dict, budget: int, round_index: int, fallback: dict, valid) -> dict:
    """The settings of extension round ``round_index``'s trial, around the choice so far (``selection``, over
    the study's trials before the round): one key moves (``extension_key``), the others keep the chosen
    values. It goes to the minimum of the parabola through the choice and its neighbours along the key where
    three values of it were tried at the choice's other settings (``parabola_vertex``); otherwise past the edge
    the choice sits at (``step_past``), or to the midpoint between the choice and its better neighbour. Every
    optimiser follows the same rule around its own choice, so none is handed a differently placed point
    (benchmarks/tuning_regret.py measures it). ``fallback`` (the sequence's next point) only where every trial
    so far failed, nothing is numeric, or no valid move exists."""
    key = extension_key(space, round_index)
    if selection.get("status") != "ok" or key is None:
        return fallback
    chosen, distribution = selection["settings"], space[key]
    edge = (selection.get("edges") or {}).get(key)
    neighbour = better_neighbour(key, chosen, selection.get("trials") or [], selection["direction"])
    moves = [parabola_vertex(key, selection, distribution, edge, budget)]
    moves.append(step_past(distribution, chosen[key], edge, budget) if edge else None)
    moves.append(in_scale(distribution, chosen[key], neighbour) if neighbour is not None else None)
    for value in filter(lambda v: v is not None, moves):
        point = {**chosen, key: value}
        if valid(point):
            return point
    return fallback


def outside_declared(settings: dict | None, space: dict) -> dict[str, str]:
    """{key: "below" | "above"} for each numeric key whose value lies outside its declared search range (an
    extension round stepped past it)."""
    out = {}
    for key, distribution in space.items():
        if not settings or key not in settings or not is_numeric(distribution):
            continue
        lo, hi = next(iter(distribution.values()))
        if settings[key] < lo:
            out[key] = "below"
        elif settings[key] > hi:
            out[key] = "above"
    return out


def median_study(choices: list[dict], direction: str) -> dict:
    """The study whose chosen validation value is the median of the studies' (a failed study counts as the
    worst; with an even number, the worse of the middle two): one lucky scramble cannot decide."""
    sign = -1 if direction == "max" else 1

    def badness(choice: dict) -> tuple:
        failed = choice["status"] != "ok"
        return (failed, 0.0 if failed else sign * choice["value"], choice["study"])

    ordered = sorted(choices, key=badness)
    return ordered[len(ordered) // 2]


def choose(trials: list[dict], space: dict, budget: int, extend: int) -> dict:
    """The selection of a cell (or of one study's first trials, for an extension round): per study the best
    trial, where it sits against the values tried, then the median study's choice. ``provisional``: a numeric
    key of the choice is at the edge of the values tried."""
    direction = trials[0]["direction"]
    by_study: dict[int, list] = {}
    for trial in trials:
        by_study.setdefault(trial_slot(trial["trial"], budget, extend)[0], []).append(trial)
    choices = []
    for study, own in sorted(by_study.items()):
        chosen = select(own, direction)
        choices.append(
            {
                "study": study,
                **chosen,
                "edges": edges(chosen["settings"], own, space),
                "tried": tried_ranges(own, space),
            }
        )
    median = median_study(choices, direction)
    return {
        **median,
        "direction": direction,
        "provisional": bool(median["edges"]),
        "outside_declared": outside_declared(median["settings"], space),
        "declared": {key: next(iter(d.values())) for key, d in space.items() if is_numeric(d)},
        "studies": [{k: c[k] for k in ("study", "status", "trial", "value", "edges")} for c in choices],
    }
