#!/usr/bin/env python
"""How close tuning lands to the optimum, wherever the optimum lies: the project's own tuning functions
(``testbeds.tuning``: the quasi-random trial points, the extension rounds, the choice) on synthetic response
curves whose optimum is known.

- 1-D: validation = (log10 lr - log10 lr*)^2 + noise (SD 0.02), lr searched log-uniformly in [3e-4, 3e-2];
  9 optimum positions evenly spaced in log10 lr inside the range.
- 2-D: learning rate x weight decay ([1e-3, 0.3], log-uniform) with an interaction: validation = dx^2 + dy^2
  + dx dy + noise, where dx, dy are the log10 distances to the optimum; 3 x 3 positions.

Regret is the noise-free validation of the chosen point: 0 at the optimum, in decade^2 (a regret of 0.01 is a
miss of 0.1 decade in one dimension). Prints, per setting (budget + extension rounds), the mean regret per
optimum position over the tuning seeds, the overall mean, and the worst position's mean over the best's, and
writes results/benchmarks/tuning_regret.csv.

    python benchmarks/tuning_regret.py [--seeds 300] [--first-seed 0] [--settings 2+1 4+2 2+4]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
import numpy as np  # noqa: E402

from testbeds import tuning  # noqa: E402

NOISE = 0.02
LR = {"log_uniform": [3e-4, 3e-2]}
WD = {"log_uniform": [1e-3, 0.3]}
SPACES = {1: {"train.lr": LR}, 2: {"train.lr": LR, "optimizer.weight_decay": WD}}


def positions(dims: int) -> list[dict]:
    """Optimum positions (log10 of each key) evenly spaced inside the declared ranges: 9 in 1-D, 3 x 3 in 2-D."""

    def inside(distribution: dict, n: int) -> np.ndarray:
        lo, hi = np.log10(distribution["log_uniform"])
        return lo + (np.arange(n) + 0.5) / n * (hi - lo)

    if dims == 1:
        return [{"train.lr": x} for x in inside(LR, 9)]
    return [{"train.lr": x, "optimizer.weight_decay": y} for x in inside(LR, 3) for y in inside(WD, 3)]


def response(settings: dict, optimum: dict) -> float:
    """The noise-free validation value: squared log10 distances, with an interaction term in 2-D."""
    d = [math.log10(settings[key]) - optimum[key] for key in optimum]
    return sum(x * x for x in d) + (d[0] * d[1] if len(d) == 2 else 0.0)


def tune(space: dict, optimum: dict, budget: int, extend: int, seed: int) -> dict:
    """One study as the pipeline runs it: ``budget`` quasi-random trials, ``extend`` extension rounds each
    placed by ``tuning.extension_point`` around the choice so far, then ``tuning.choose``."""
    rng = np.random.default_rng([seed, *(int(1000 * v) & 0xFFFF for v in optimum.values())])
    points = tuning.trial_points({"opt": space}, budget + extend, seed)["opt"]

    def trial(index: int, settings: dict) -> dict:
        value = response(settings, optimum) + rng.normal(0.0, NOISE)
        return {"trial": index, "status": "ok", "value": value, "settings": settings, "direction": "min"}

    trials = [trial(k, points[k]) for k in range(budget)]
    for r in range(extend):
        selection = {**tuning.choose(trials, space, budget, extend), "trials": trials}
        settings = tuning.extension_point(selection, space, budget, r, points[budget + r], lambda s: True)
        trials.append(trial(budget + r, settings))
    return tuning.choose(trials, space, budget, extend)["settings"]


def regrets(dims: int, budget: int, extend: int, seeds: int, first_seed: int = 0) -> list[float]:
    """Mean regret at each optimum position over tuning seeds first_seed .. first_seed + seeds - 1."""
    space = SPACES[dims]
    tuned = range(first_seed, first_seed + seeds)
    return [
        float(np.mean([response(tune(space, optimum, budget, extend, s), optimum) for s in tuned]))
        for optimum in positions(dims)
    ]


def main() -> None:
    import _table  # beside this script; the tests import the functions above without it

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=300, help="tuning seeds per optimum position")
    parser.add_argument("--first-seed", type=int, default=0, help="the first tuning seed (another block of seeds)")
    parser.add_argument("--settings", nargs="+", default=["2+1", "4+2", "2+4"], help="budget+extension rounds")
    args = parser.parse_args()
    rows = []
    for dims in (1, 2):
        for setting in args.settings:
            budget, extend = map(int, setting.split("+"))
            per_position = regrets(dims, budget, extend, args.seeds, args.first_seed)
            row = {
                "dimensions": dims,
                "budget": budget,
                "extend": extend,
                "mean_regret": float(np.mean(per_position)),
                "worst_over_best": max(per_position) / min(per_position),
                **{f"position{i}": round(v, 5) for i, v in enumerate(per_position)},
            }
            rows.append(row)
            print(
                f"{dims}-D budget {budget} + {extend} rounds: mean regret {row['mean_regret']:.4f} decade^2, "
                f"worst/best position {row['worst_over_best']:.2f}; per position "
                + " ".join(f"{v:.4f}" for v in per_position)
            )
    _table.save(rows, REPO / "results" / "benchmarks" / "tuning_regret.csv")


if __name__ == "__main__":
    main()
