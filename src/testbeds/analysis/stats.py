"""Statistics of the grid: per-cell summaries, comparisons against a baseline, performance profiles.

Everything takes the tidy tables of ``tables.py`` (one row per run; one row per logged step), so a new
workload needs nothing here. Diverged runs are counted, never silently dropped: they are excluded from
means and intervals (their metric is undefined) and count as losses in win rates and as infinite
time-to-target in performance profiles.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

CELL = ["workload", "variant", "optimizer"]
BOOTSTRAP_MIN_N = 10  # below this, a t-interval (bootstrap intervals are unreliable for tiny n)
CONFIDENCE = 0.95
TAU_MAX = 4.0


def confidence_interval(values: np.ndarray) -> tuple[float, float, str]:
    """95% CI of the mean: none for n < 2, t-interval for n < 10, BCa bootstrap otherwise."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n < 2:
        return math.nan, math.nan, f"none (n={n})"
    mean = values.mean()
    if np.all(values == values[0]):
        return mean, mean, "degenerate (all equal)"
    if n < BOOTSTRAP_MIN_N:
        low, high = stats.t.interval(CONFIDENCE, n - 1, loc=mean, scale=stats.sem(values))
        return float(low), float(high), "t"
    result = stats.bootstrap(
        (values,), np.mean, confidence_level=CONFIDENCE, n_resamples=9999, method="BCa", random_state=0
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high), "bootstrap BCa"


def _best_worst(values: pd.Series, direction: str) -> tuple[float, float]:
    if values.empty:
        return math.nan, math.nan
    return (values.min(), values.max()) if direction == "min" else (values.max(), values.min())


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (workload, variant, optimizer): n, diverged, mean, std, median, 95% CI, best, worst."""
    rows = []
    for key, cell in runs.groupby(CELL, sort=True):
        ok = cell.loc[cell["status"] == "ok", "primary_value"].astype(float)
        ok = ok[np.isfinite(ok)]
        direction = cell["direction"].iloc[0]
        low, high, method = confidence_interval(ok.to_numpy())
        best, worst = _best_worst(ok, direction)
        rows.append(
            {
                **dict(zip(CELL, key)),
                "primary_metric": cell["primary_metric"].iloc[0],
                "direction": direction,
                "n_runs": len(cell),
                "n_ok": len(ok),
                "n_diverged": int((cell["status"] != "ok").sum()),
                "mean": ok.mean() if len(ok) else math.nan,
                "std": ok.std(ddof=1) if len(ok) > 1 else math.nan,
                "median": ok.median() if len(ok) else math.nan,
                "ci_low": low,
                "ci_high": high,
                "ci_method": method,
                "best": best,
                "worst": worst,
            }
        )
    return pd.DataFrame(rows)


def _better(a: float, b: float, direction: str) -> float:
    """1 if a beats b, 0.5 for a tie, 0 otherwise; a diverged (NaN) run loses to a finite one."""
    if not np.isfinite(a) and not np.isfinite(b):
        return 0.5
    if not np.isfinite(a):
        return 0.0
    if not np.isfinite(b):
        return 1.0
    if a == b:
        return 0.5
    return float(a < b) if direction == "min" else float(a > b)


def compare(a: pd.DataFrame, b: pd.DataFrame, direction: str) -> dict:
    """Optimizer ``a`` against baseline ``b`` (runs of one workload and variant)."""
    va = a.loc[a["status"] == "ok", "primary_value"].astype(float).to_numpy()
    vb = b.loc[b["status"] == "ok", "primary_value"].astype(float).to_numpy()
    va, vb = va[np.isfinite(va)], vb[np.isfinite(vb)]
    out = {"n": len(va), "n_baseline": len(vb), "mean": _mean(va), "mean_baseline": _mean(vb)}
    out["diff"] = out["mean"] - out["mean_baseline"]
    out["relative_change"] = out["diff"] / abs(out["mean_baseline"]) if out["mean_baseline"] else math.nan
    out.update(
        diff_ci_low=math.nan,
        diff_ci_high=math.nan,
        effect_size_hedges_g=math.nan,
        welch_p=math.nan,
        mannwhitney_p=math.nan,
    )
    if len(va) >= 2 and len(vb) >= 2 and (va.std() > 0 or vb.std() > 0):
        welch = stats.ttest_ind(va, vb, equal_var=False)
        if np.isfinite(welch.statistic):
            ci = welch.confidence_interval(CONFIDENCE)
            out.update(welch_p=float(welch.pvalue), diff_ci_low=float(ci.low), diff_ci_high=float(ci.high))
        out["effect_size_hedges_g"] = hedges_g(va, vb)
    if len(va) >= 1 and len(vb) >= 1:
        out["mannwhitney_p"] = float(stats.mannwhitneyu(va, vb, alternative="two-sided").pvalue)
    by_seed_a = a.set_index("seed")["primary_value"].astype(float).where(a.set_index("seed")["status"] == "ok")
    by_seed_b = b.set_index("seed")["primary_value"].astype(float).where(b.set_index("seed")["status"] == "ok")
    matched = sorted(set(by_seed_a.index) & set(by_seed_b.index))
    wins = [_better(by_seed_a[s], by_seed_b[s], direction) for s in matched]
    out["n_matched_seeds"] = len(matched)
    out["win_rate"] = float(np.mean(wins)) if wins else math.nan
    better = out["diff"] < 0 if direction == "min" else out["diff"] > 0
    out["better_on_mean"] = bool(better) if np.isfinite(out["diff"]) else None
    return out


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else math.nan


def hedges_g(a: np.ndarray, b: np.ndarray) -> float:
    """Standardised mean difference (a - b) with the small-sample correction."""
    na, nb = len(a), len(b)
    pooled = math.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    if pooled == 0:
        return math.nan
    correction = 1 - 3 / (4 * (na + nb) - 9)
    return float((a.mean() - b.mean()) / pooled * correction)


def comparisons_table(runs: pd.DataFrame, baselines: dict[str, str]) -> pd.DataFrame:
    """Each optimizer against its workload's baseline, per (workload, variant)."""
    rows = []
    for (workload, variant), group in runs.groupby(["workload", "variant"], sort=True):
        baseline = baselines.get(workload)
        if baseline is None or baseline not in set(group["optimizer"]):
            continue
        direction = group["direction"].iloc[0]
        base = group[group["optimizer"] == baseline]
        for optimizer, cell in group.groupby("optimizer", sort=True):
            if optimizer == baseline:
                continue
            rows.append(
                {
                    "workload": workload,
                    "variant": variant,
                    "optimizer": optimizer,
                    "baseline": baseline,
                    "primary_metric": group["primary_metric"].iloc[0],
                    "direction": direction,
                    **compare(cell, base, direction),
                }
            )
    return pd.DataFrame(rows)


CLOCK_COLUMNS = {"steps": "step", "train_seconds": "train_seconds"}  # analysis.clock -> metrics.csv column


def time_to_target(curve: pd.DataFrame, metric: str, target: float, direction: str, clock: str = "steps") -> float:
    """The clock (steps, or training-only seconds) at the first logged row whose ``metric`` reaches
    ``target``; inf if never."""
    values = curve[metric].astype(float)
    reached = values <= target if direction == "min" else values >= target
    reached &= np.isfinite(values)
    if not reached.any():
        return math.inf
    return float(curve.loc[reached.idxmax(), CLOCK_COLUMNS[clock]])


def profiles_table(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    baselines: dict[str, str],
    targets: dict[str, float | None],
    clock: str = "steps",
) -> pd.DataFrame:
    """AlgoPerf-style time-to-target per (workload, variant, optimizer) and the performance ratio.

    Times are read from each run's ``curve_metric`` column of metrics.csv (for charlm: val_bpc on the fixed
    evaluation batch). The target is the configured one, else the median over the baseline's seeds of
    the last logged value of that metric. A cell's time is when half of its seeds had reached the target
    (the lower median; a diverged or never-reaching run counts as infinite).
    """
    rows = []
    for (workload, variant), group in runs.groupby(["workload", "variant"], sort=True):
        metric, direction = group["curve_metric"].iloc[0], group["direction"].iloc[0]
        target = targets.get(workload)
        source = "config"
        cell_curves = curves[(curves["workload"] == workload) & (curves["variant"] == variant)]
        if target is None:
            baseline = baselines.get(workload)
            ok_seeds = group.loc[(group["optimizer"] == baseline) & (group["status"] == "ok"), "seed"]
            base = cell_curves[(cell_curves["optimizer"] == baseline) & cell_curves["seed"].isin(ok_seeds)]
            last = base.dropna(subset=[metric]).groupby("seed")[metric].last() if metric in base else pd.Series()
            target, source = (float(last.median()) if len(last) else math.nan), "baseline median"
        for optimizer, cell in group.groupby("optimizer", sort=True):
            times = []
            for _, run in cell.iterrows():
                curve = cell_curves[(cell_curves["optimizer"] == optimizer) & (cell_curves["seed"] == run["seed"])]
                ok = run["status"] == "ok" and metric in curve and np.isfinite(target)
                times.append(
                    time_to_target(curve.dropna(subset=[metric]), metric, target, direction, clock) if ok else math.inf
                )
            rows.append(
                {
                    "workload": workload,
                    "variant": variant,
                    "optimizer": optimizer,
                    "metric": metric,
                    "target": target,
                    "target_source": source,
                    "n_seeds": len(times),
                    "n_reached": int(np.isfinite(times).sum()),
                    "time_to_target": half_reached(times),
                    "clock": clock,
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    best = table.groupby(["workload", "variant"])["time_to_target"].transform("min")
    table["ratio"] = np.where(
        np.isfinite(table["time_to_target"]) & np.isfinite(best), table["time_to_target"] / best, math.inf
    )
    return table


def half_reached(times: list[float]) -> float:
    """The time by which at least half of the seeds reached the target (the lower median; inf if fewer did)."""
    return float(sorted(times)[(len(times) - 1) // 2]) if times else math.inf


def performance_profile(profiles: pd.DataFrame, taus: np.ndarray | None = None) -> pd.DataFrame:
    """ρ(τ): for each optimizer, the fraction of (workload, variant) problems with ratio <= τ."""
    taus = np.linspace(1.0, TAU_MAX, 301) if taus is None else taus
    rows = []
    for optimizer, cell in profiles.groupby("optimizer", sort=True):
        ratios = cell["ratio"].to_numpy(dtype=float)
        for tau in taus:
            rows.append({"optimizer": optimizer, "tau": float(tau), "rho": float(np.mean(ratios <= tau))})
    return pd.DataFrame(rows)


def benchmark_scores(profile: pd.DataFrame, tau_max: float = TAU_MAX) -> pd.DataFrame:
    """Area under ρ(τ) for τ in [1, tau_max], normalised to [0, 1] (trapezoid rule on the τ grid)."""
    rows = []
    for optimizer, curve in profile.groupby("optimizer", sort=True):
        curve = curve[curve["tau"] <= tau_max].sort_values("tau")
        area = np.trapezoid(curve["rho"], curve["tau"])
        rows.append({"optimizer": optimizer, "score": float(area / (tau_max - 1.0))})
    return pd.DataFrame(rows)


def expected_best(values: np.ndarray, k: int, higher_is_better: bool) -> float:
    """Expected best of ``k`` trials drawn with replacement from ``values`` ("expected validation
    performance", Dodge et al. 2019): the sum over sorted values of value × P(it is the best of k)."""
    scores = np.sort(np.asarray(values, dtype=float) * (1 if higher_is_better else -1))
    n = len(scores)
    i = np.arange(1, n + 1)
    weights = (i / n) ** k - ((i - 1) / n) ** k
    best = float(np.dot(weights, scores))
    return best if higher_is_better else -best


def expected_best_curve(trials: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per (workload, variant, optimizer): expected best validation value after k = 1..budget trials, with a
    95% bootstrap band over the trials. A diverged trial counts as the cell's worst finite value."""
    rows = []
    rng = np.random.default_rng(seed)
    for key, cell in trials.groupby(CELL, sort=True):
        higher = bool(cell["higher_is_better"].iloc[0])
        values = cell["value"].astype(float).where(cell["status"] == "ok").to_numpy()
        finite = values[np.isfinite(values)]
        if not len(finite):
            continue
        values = np.where(np.isfinite(values), values, finite.min() if higher else finite.max())
        resamples = rng.choice(values, size=(n_boot, len(values)), replace=True)
        for k in range(1, len(values) + 1):
            band = [expected_best(r, k, higher) for r in resamples]
            rows.append(
                {
                    **dict(zip(CELL, key)),
                    "trials": k,
                    "expected_best": expected_best(values, k, higher),
                    "low": float(np.percentile(band, 2.5)),
                    "high": float(np.percentile(band, 97.5)),
                }
            )
    return pd.DataFrame(rows)
