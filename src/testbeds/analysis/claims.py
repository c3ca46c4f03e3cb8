"""The seeds' headline claims (config/claims.yaml) measured on the grid: per claim the paired effect with
its interval, and a verdict a reader can take at face value."""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from testbeds.analysis.stats import CELL as ARM
from testbeds.analysis.stats import CONFIDENCE


def arm_runs(runs: pd.DataFrame, arm: dict) -> pd.DataFrame:
    """The runs of one (workload, variant, optimizer)."""
    return runs[(runs[ARM] == pd.Series(arm)[ARM]).all(axis=1)]


def arm_values(runs: pd.DataFrame, arm: dict, metric: str) -> pd.Series:
    """The metric by seed for one (workload, variant, optimizer); NaN for a run that diverged."""
    cell = arm_runs(runs, arm)
    column = "primary_value" if metric == "primary" else f"metric.{metric}"
    if column not in cell:
        return pd.Series(dtype=float)
    values = pd.to_numeric(cell[column], errors="coerce").where(cell["status"] == "ok")
    return pd.Series(values.to_numpy(), index=cell["seed"].to_numpy(), dtype=float)


def verdict(low: float, high: float, direction: str, n: int) -> str:
    """supported / contradicted when the interval of the difference lies wholly on one side of zero."""
    if n < 2 or not (math.isfinite(low) and math.isfinite(high)):
        return f"inconclusive (n = {n})"
    claimed_side = high < 0 if direction == "lower" else low > 0
    opposite_side = low > 0 if direction == "lower" else high < 0
    return "supported" if claimed_side else "contradicted" if opposite_side else "inconclusive at this scale"


def measure(claim: dict, runs: pd.DataFrame, tuning: dict) -> dict:
    """One claim: the mean of arm − against over matched seeds (or over the arm's seeds against a fixed
    value), its t-interval, the relative change, and the verdict."""
    arm = {key: claim[key] for key in ARM}
    against = claim["against"]
    other = {**arm, **{k: v for k, v in against.items() if k != "value"}}
    a = arm_values(runs, arm, claim["metric"])
    if "value" in against:
        b = pd.Series(float(against["value"]), index=a.index)
        other_label = f"{against['value']:g}"
    else:
        b = arm_values(runs, other, claim["metric"])
        other_label = "/".join(other[k] for k in ARM)
    pairs = pd.concat({"a": a, "b": b}, axis=1, join="inner").dropna()
    diff = (pairs["a"] - pairs["b"]).to_numpy()
    n = len(diff)
    low = high = math.nan
    if n >= 2 and diff.std() > 0:
        low, high = stats.t.interval(CONFIDENCE, n - 1, loc=diff.mean(), scale=stats.sem(diff))
    elif n >= 2:
        low = high = float(diff.mean())
    mean_b = float(pairs["b"].mean()) if n else math.nan
    own = arm_runs(runs, arm)
    return {
        "id": claim["id"],
        "seed": claim["seed"],
        "statement": claim["statement"],
        "arm": "/".join(arm[k] for k in ARM),
        "against": other_label,
        "metric": claim["metric"] if claim["metric"] != "primary" else _primary(runs, arm["workload"]),
        "direction": claim["direction"],
        "n_pairs": n,
        "n_runs": int(len(own)),
        "mean_arm": float(pairs["a"].mean()) if n else math.nan,
        "mean_against": mean_b,
        "difference": float(diff.mean()) if n else math.nan,
        "ci_low": float(low),
        "ci_high": float(high),
        "relative_change": float(diff.mean()) / abs(mean_b) if n and mean_b else math.nan,
        "claimed_size": claim.get("size", math.nan),
        "verdict": verdict(low, high, claim["direction"], n) if len(a) and len(b) else "not run in this grid",
        "tuning_budget": tuning.get(arm["workload"], {}).get("budget", 0),
        "steps": int(own["steps"].median()) if len(own) and "steps" in own else None,
    }


def _primary(runs: pd.DataFrame, workload: str) -> str:
    names = runs.loc[runs["workload"] == workload, "primary_metric"].dropna()
    return f"primary ({names.iloc[0]})" if len(names) else "primary"


def claims_table(claims: list[dict], runs: pd.DataFrame, tuning: dict) -> pd.DataFrame:
    return pd.DataFrame([measure(claim, runs, tuning) for claim in claims])
