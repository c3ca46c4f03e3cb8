"""Statistics of the grid: per-cell summaries, comparisons against a baseline, performance profiles.

Everything takes the tidy tables of ``tables.py`` (one row per run; one row per logged step), so a new
workload needs nothing here. Diverged runs are counted, never silently dropped: they are excluded from
means and intervals (their metric is undefined), counted in success rates, and count as losses in win
rates and sign tests, as the worst rank, and as infinite time-to-target in performance profiles.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from testbeds.analysis import power

CELL = ["workload", "variant", "optimizer"]
BOOTSTRAP_MIN_N = 30  # below this, a t-interval (BCa under-covers at small n: 0.89-0.91 at n = 10)
CONFIDENCE = 0.95
ALPHA = 0.05  # the significance level the report speaks of
TAU_MAX = 4.0


def confidence_interval(values: np.ndarray) -> tuple[float, float, str]:
    """95% CI of the mean: none for n < 2, t-interval below 30 values, BCa bootstrap from 30."""
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


def success_rate(n_ok: int, n: int) -> tuple[float, float, float]:
    """Share of runs that did not diverge, with its 95% Wilson interval."""
    if n == 0:
        return math.nan, math.nan, math.nan
    ci = stats.binomtest(n_ok, n).proportion_ci(CONFIDENCE, method="wilson")
    return n_ok / n, float(ci.low), float(ci.high)


def _best_worst(values: pd.Series, direction: str) -> tuple[float, float]:
    if values.empty:
        return math.nan, math.nan
    return (values.min(), values.max()) if direction == "min" else (values.max(), values.min())


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (workload, variant, optimizer): n, diverged, success rate and its interval, mean, std,
    median, 95% CI, best, worst."""
    rows = []
    for key, cell in runs.groupby(CELL, sort=True):
        ok = cell.loc[cell["status"] == "ok", "primary_value"].astype(float)
        ok = ok[np.isfinite(ok)]
        direction = cell["direction"].iloc[0]
        low, high, method = confidence_interval(ok.to_numpy())
        best, worst = _best_worst(ok, direction)
        rate, rate_low, rate_high = success_rate(len(ok), len(cell))
        rows.append(
            {
                **dict(zip(CELL, key)),
                "primary_metric": cell["primary_metric"].iloc[0],
                "direction": direction,
                "n_runs": len(cell),
                "n_ok": len(ok),
                "n_diverged": len(cell) - len(ok),
                "success_rate": rate,
                "success_ci_low": rate_low,
                "success_ci_high": rate_high,
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


def smallest_p(n: int) -> float:
    """The smallest two-sided p-value a sign or signed-rank test of n pairs can give: 2 / 2^n."""
    return min(1.0, 2.0 * 0.5**n) if n else 1.0


def paired_by_seed(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Columns ``a`` and ``b``: each matched seed's values (NaN for a diverged run)."""

    def by_seed(frame: pd.DataFrame) -> pd.Series:
        values = frame.set_index("seed")["primary_value"].astype(float)
        return values.where(frame.set_index("seed")["status"] == "ok")

    return pd.concat({"a": by_seed(a), "b": by_seed(b)}, axis=1, join="inner").sort_index()


PAIRED_T = "paired t"
DIVERGENCE_AWARE = "signed-rank, a diverged run ranks worst"
TESTS = {  # the tests of comparisons.csv, by column
    "paired_t_p": PAIRED_T,
    "wilcoxon_p": "Wilcoxon signed-rank",
    "sign_test_p": "sign test",
    "divergence_aware_p": DIVERGENCE_AWARE,
}
# every statistical method the tables compute, as captions and docs name them (a test holds them to this)
METHODS = (
    *TESTS.values(),
    "signed-rank",
    "one-sample t",
    "t-interval",
    "BCa",
    "bootstrap",
    "Wilson",
    "Hedges",
    "Benjamini-Hochberg",
    "Holm",
    "Friedman",
    "Nemenyi",
    "performance profile",
    "expected validation performance",
    "Bonferroni",  # α/m: the power figures' level (analysis.power) and each claim's sequential boundaries
    "O'Brien-Fleming",  # analysis.sequential
)


def worst_filled(pairs: pd.DataFrame, lower_is_better: bool) -> pd.DataFrame:
    """Diverged (NaN) values replaced by one worse than every finite value, so that a difference with a
    diverged run has the largest magnitude and the right sign (both diverged: a tie)."""
    finite = pairs.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return pairs.fillna(0.0)
    span = float(finite.max() - finite.min()) or 1.0
    return pairs.fillna(finite.max() + 10 * span if lower_is_better else finite.min() - 10 * span)


def divergence_aware_p(pairs: pd.DataFrame, lower_is_better: bool, shift: float = 0.0) -> float:
    """Wilcoxon signed-rank p of "a - b is ``shift``" over every matched seed, a diverged run ranking worst
    (pairs where both diverged are ties, dropped)."""
    filled = worst_filled(pairs, lower_is_better)
    diff = (filled["a"] - filled["b"]).to_numpy() - shift
    if not np.any(diff != 0):
        return math.nan
    return float(stats.wilcoxon(diff, zero_method="wilcox").pvalue)


def signed_rank_side(diff: np.ndarray) -> float:
    """The sign of the signed-rank statistic R+ - R- of ``diff`` (zeros dropped): the way the test leans."""
    diff = diff[diff != 0]
    if not len(diff):
        return 0.0
    return float(np.sign(np.sum(np.sign(diff) * stats.rankdata(np.abs(diff)))))


def test_side(pairs: pd.DataFrame, lower_is_better: bool, divergence_aware: bool, shift: float = 0.0) -> float:
    """Which side of ``shift`` the verdict's test puts a - b: the signed-rank statistic over every matched seed
    (a diverged run ranked worst) for the divergence-aware test, the mean over complete pairs otherwise."""
    if divergence_aware:
        filled = worst_filled(pairs, lower_is_better)
        return signed_rank_side((filled["a"] - filled["b"]).to_numpy() - shift)
    diff = (pairs.dropna()["a"] - pairs.dropna()["b"]).to_numpy() - shift
    return float(np.sign(diff.mean())) if len(diff) else math.nan


def compare(a: pd.DataFrame, b: pd.DataFrame, direction: str) -> dict:
    """Optimizer ``a`` against baseline ``b`` (runs of one workload and variant), paired by seed: matched
    seeds share initialisation, data order and (lds) the system. Every number comes from the same pairs: the
    seeds where both runs succeeded. The paired t-test on them is the verdict's test; where divergence removed
    pairs, the signed-rank test over every matched seed with a diverged run ranked worst is (a t-test on the
    survivors would ignore the failures), and its statistic gives the direction (``better_by_test``), which
    must agree with the complete pairs' mean (``directions_agree``) for a verdict. Wilcoxon on the complete
    pairs and the sign test on wins (a diverged run loses) check it without assuming normal differences."""
    pairs = paired_by_seed(a, b)
    complete = pairs.dropna()
    va, vb = complete["a"].to_numpy(), complete["b"].to_numpy()
    diff = va - vb
    out = {
        "n_matched_seeds": len(pairs),
        "n_pairs": len(complete),
        "n_pairs_removed_diverged": len(pairs) - len(complete),
        "mean": _mean(va),
        "mean_baseline": _mean(vb),
        "diff": _mean(diff),
        "sd_diff": float(np.std(diff, ddof=1)) if len(diff) >= 2 else math.nan,
        "diff_ci_low": math.nan,
        "diff_ci_high": math.nan,
        "relative_change": relative_change(_mean(diff), vb),
        "effect_size_hedges_g": hedges_g(va, vb) if len(va) >= 2 else math.nan,
        "paired_t_p": math.nan,
        "wilcoxon_p": math.nan,
    }
    if len(diff) >= 2 and diff.std() > 0:
        test = stats.ttest_rel(va, vb)
        ci = test.confidence_interval(CONFIDENCE)
        out.update(paired_t_p=float(test.pvalue), diff_ci_low=float(ci.low), diff_ci_high=float(ci.high))
        out["wilcoxon_p"] = float(stats.wilcoxon(diff).pvalue)
    out["divergence_aware_p"] = divergence_aware_p(pairs, direction == "min") if len(pairs) else math.nan
    removed = out["n_pairs_removed_diverged"] > 0
    out["verdict_test"] = DIVERGENCE_AWARE if removed else PAIRED_T
    out["p"] = out["divergence_aware_p"] if removed else out["paired_t_p"]
    wins = [_better(x, y, direction) for x, y in zip(pairs["a"], pairs["b"])]
    decided = [w for w in wins if w != 0.5]
    out["win_rate"] = float(np.mean(wins)) if wins else math.nan
    out["sign_test_p"] = float(stats.binomtest(int(sum(decided)), len(decided)).pvalue) if decided else math.nan
    out["smallest_rank_p"] = smallest_p(len(decided))
    out["underpowered"] = out["smallest_rank_p"] > ALPHA
    better = out["diff"] < 0 if direction == "min" else out["diff"] > 0
    out["better_on_mean"] = bool(better) if np.isfinite(out["diff"]) else None
    side = test_side(pairs, direction == "min", removed) if len(pairs) else math.nan
    out["better_by_test"] = (
        None if not np.isfinite(side) or side == 0 else bool(side < 0 if direction == "min" else side > 0)
    )
    # a divergence-aware test can lean one way because of failures while the complete pairs lean the other
    out["directions_agree"] = out["better_on_mean"] is None or out["better_on_mean"] == out["better_by_test"]
    return out


def relative_change(diff: float, baseline: np.ndarray) -> float:
    """The paired difference relative to the baseline mean; undefined (NaN) when that mean is zero or not
    distinguishable from zero (smaller than its standard error), where a ratio would explode."""
    if not len(baseline) or not np.isfinite(diff):
        return math.nan
    mean = float(np.mean(baseline))
    noise = stats.sem(baseline) if len(baseline) > 1 else 0.0
    if mean == 0 or abs(mean) <= noise:
        return math.nan
    return diff / abs(mean)


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def hedges_g(a: np.ndarray, b: np.ndarray) -> float:
    """Standardised mean difference (a - b) with the small-sample correction."""
    na, nb = len(a), len(b)
    pooled = math.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    if pooled == 0:
        return math.nan
    correction = 1 - 3 / (4 * (na + nb) - 9)
    return float((a.mean() - b.mean()) / pooled * correction)


def adjusted(p_values: pd.Series) -> pd.Series:
    """Benjamini-Hochberg adjusted p-values over every comparison of the report (NaN stays NaN)."""
    out = pd.Series(math.nan, index=p_values.index)
    present = p_values.dropna()
    if len(present):
        out[present.index] = stats.false_discovery_control(present.to_numpy(), method="bh")
    return out


def comparisons_table(runs: pd.DataFrame, baselines: dict[str, str]) -> pd.DataFrame:
    """Each optimizer against its workload's baseline, per (workload, variant), with p-values adjusted
    (Benjamini-Hochberg) across all comparisons of the table."""
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
    table = pd.DataFrame(rows)
    for test in ("p", *TESTS):
        if test in table:
            table[f"{test}_adjusted"] = adjusted(table[test])
    if len(table):
        alpha = power.level(ALPHA, int(table["p"].notna().sum()))
        columns = power.seeds_columns(table["sd_diff"], table["n_pairs"], {"seeds_for_diff": table["diff"]}, alpha)
        table["power_alpha"] = alpha
        table["detectable_diff"] = columns.pop("detectable")
        table = table.assign(**columns)
    return table


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
    targets: dict[str, float | dict | None],
    clock: str = "steps",
    tuning_curves: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """AlgoPerf-style time-to-target per (workload, variant, optimizer) and the performance ratio.

    Times are read from each run's ``curve_metric`` column of metrics.csv (the validation metric). The
    target is the configured one (a number for the workload, or per variant), else one set by the tuning
    trials, never by the runs it scores (a target computed from them shares their noise): the median over
    optimizers of the best value on each one's chosen trial's validation curve (``tuning_curves``), a level
    a typical tuned optimizer reached, whichever is called the baseline. An untuned grid has no trials: its
    target is the median over seeds of each run's best value, for the optimizer whose median is best, and
    says so. A cell's time is when half of its seeds had reached the target (the lower median; a diverged or
    never-reaching run counts as infinite).
    """
    rows = []
    for (workload, variant), group in runs.groupby(["workload", "variant"], sort=True):
        metric, direction = group["curve_metric"].iloc[0], group["direction"].iloc[0]
        cell_curves = _problem(curves, workload, variant)
        target, source = configured_target(targets.get(workload), variant), "config"
        trials = _problem(tuning_curves, workload, variant)
        if target is None and len(trials):
            target, source = tuned_target(trials, metric, direction), "tuning trials (median optimizer's best)"
        elif target is None:
            target = best_median_target(group, cell_curves, metric, direction)
            source = "scored runs (untuned; best optimizer's median)"
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


def _problem(table: pd.DataFrame | None, workload: str, variant: str) -> pd.DataFrame:
    if table is None or "workload" not in table:  # no curves at all: none for any run
        return pd.DataFrame(columns=["workload", "variant", "optimizer", "seed", "step"])
    return table[(table["workload"] == workload) & (table["variant"] == variant)]


def tuned_target(trials: pd.DataFrame, metric: str, direction: str) -> float:
    """The median over optimizers of the best ``metric`` value on each one's chosen trial's curve."""
    if metric not in trials:
        return math.nan
    best = trials.dropna(subset=[metric]).groupby("optimizer")[metric].agg("min" if direction == "min" else "max")
    return float(best.median()) if len(best) else math.nan


def configured_target(setting: float | dict | None, variant: str) -> float | None:
    """A workload's ``target``: one value for all its variants, or a value per variant (null: derived)."""
    return setting.get(variant) if isinstance(setting, dict) else setting


def best_median_target(group: pd.DataFrame, curves: pd.DataFrame, metric: str, direction: str) -> float:
    """Median over seeds of each successful run's best ``metric`` value, for the optimizer whose median is
    best: a rule that does not depend on which optimizer is called the baseline."""
    ok = group.loc[group["status"] == "ok", ["optimizer", "seed"]]
    if metric not in curves or ok.empty:
        return math.nan
    runs = curves.merge(ok, on=["optimizer", "seed"]).dropna(subset=[metric])
    best = runs.groupby(["optimizer", "seed"])[metric].agg("min" if direction == "min" else "max")
    medians = best.groupby("optimizer").median()
    if medians.empty:
        return math.nan
    return float(medians.min() if direction == "min" else medians.max())


def half_reached(times: list[float]) -> float:
    """The time by which at least half of the seeds reached the target (the lower median; inf if fewer did)."""
    return float(sorted(times)[(len(times) - 1) // 2]) if times else math.inf


def problem_weights(problems: pd.DataFrame) -> pd.Series:
    """Weight of each (workload, variant) problem: every workload weighs the same, split over its variants."""
    per_workload = problems.groupby("workload")["variant"].transform("count")
    return 1.0 / (problems["workload"].nunique() * per_workload)


def performance_profile(
    profiles: pd.DataFrame, taus: np.ndarray | None = None, optimizers: list[str] | None = None
) -> pd.DataFrame:
    """ρ(τ): for each of ``optimizers`` (default: all), the weighted share of the grid's (workload, variant)
    problems it solved with ratio <= τ, the ratio taken against the best of ``optimizers`` alone. Every
    optimizer is scored over the same problems: one it did not run counts as never reaching the target (pass
    the complete ones to keep coverage out); every workload weighs the same whatever its number of variants."""
    taus = np.linspace(1.0, TAU_MAX, 301) if taus is None else taus
    problems = profiles[["workload", "variant"]].drop_duplicates().reset_index(drop=True)
    if optimizers is not None:
        profiles = profiles[profiles["optimizer"].isin(optimizers)].copy()
        best = profiles.groupby(["workload", "variant"])["time_to_target"].transform("min")
        finite = np.isfinite(profiles["time_to_target"]) & np.isfinite(best)
        profiles["ratio"] = np.where(finite, profiles["time_to_target"] / best, math.inf)
    problems["weight"] = problem_weights(problems)
    rows = []
    for optimizer in sorted(profiles["optimizer"].unique() if optimizers is None else optimizers):
        ratios = problems.merge(profiles[profiles["optimizer"] == optimizer], on=["workload", "variant"], how="left")
        ratio = ratios["ratio"].fillna(math.inf).to_numpy(dtype=float)
        for tau in taus:
            rows.append(
                {"optimizer": optimizer, "tau": float(tau), "rho": float(np.sum(problems["weight"] * (ratio <= tau)))}
            )
    return pd.DataFrame(rows, columns=["optimizer", "tau", "rho"])  # none: no optimizer ran every problem


def benchmark_scores(profile: pd.DataFrame, tau_max: float = TAU_MAX) -> pd.DataFrame:
    """Area under ρ(τ) for τ in [1, tau_max], normalised to [0, 1] (trapezoid rule on the τ grid)."""
    rows = []
    for optimizer, curve in profile.groupby("optimizer", sort=True):
        curve = curve[curve["tau"] <= tau_max].sort_values("tau")
        area = np.trapezoid(curve["rho"], curve["tau"])
        rows.append({"optimizer": optimizer, "score": float(area / (tau_max - 1.0))})
    return pd.DataFrame(rows, columns=["optimizer", "score"])


def expected_best(values: np.ndarray, k: int, direction: str) -> float:
    """Expected best of ``k`` trials drawn without replacement from the ``n`` trials run ("expected
    validation performance", Dodge et al. 2019, in its unbiased form): the sorted value i (1-based, worst
    first) is the best of a random k-subset with probability C(i-1, k-1) / C(n, k); at k = n it is the best
    trial, the one tuning chose."""
    higher = direction == "max"
    scores = np.sort(np.asarray(values, dtype=float) * (1 if higher else -1))
    n = len(scores)
    if not 1 <= k <= n:
        raise ValueError(f"expected best of k = {k} needs 1 <= k <= {n} trials")
    i = np.arange(1, n + 1)
    weights = np.array([math.comb(j - 1, k - 1) for j in i], dtype=float) / math.comb(n, k)
    best = float(np.dot(weights, scores))
    return best if higher else -best


def expected_best_curve(trials: pd.DataFrame, trivial: dict | None = None, n_boot: int = 1000, seed: int = 0):
    """Per (workload, variant, optimizer): expected best validation value of k = 1..n of its n trials, with a
    95% bootstrap band over the trials. A diverged trial counts as the trivial model's value (``trivial``:
    workload -> value, a uniform guess or persistence), as a model that learned nothing, or, where the
    workload records none, as the cell's worst finite value. Not as a value any trial reached: an optimizer
    that diverges at some rates would then look as good as its worst finished trial."""
    rows = []
    rng = np.random.default_rng(seed)
    for key, cell in trials.groupby(CELL, sort=True):
        direction = cell["direction"].iloc[0]
        higher = direction == "max"
        values = cell["value"].astype(float).where(cell["status"] == "ok").to_numpy()
        finite = values[np.isfinite(values)]
        if not len(finite):
            continue
        worst = finite.min() if higher else finite.max()
        floor = (trivial or {}).get(key[0], worst)
        values = np.where(np.isfinite(values), values, floor if math.isfinite(floor) else worst)
        resamples = rng.choice(values, size=(n_boot, len(values)), replace=True)
        for k in range(1, len(values) + 1):
            band = [expected_best(r, k, direction) for r in resamples]
            rows.append(
                {
                    **dict(zip(CELL, key)),
                    "trials": k,
                    "expected_best": expected_best(values, k, direction),
                    "low": float(np.percentile(band, 2.5)),
                    "high": float(np.percentile(band, 97.5)),
                }
            )
    return pd.DataFrame(rows)


def complete_optimizers(summary: pd.DataFrame) -> list[str]:
    """The optimizers that ran every (workload, variant) problem of the grid (diverging counts as running):
    the only ones a ranking, a Friedman test or a performance profile can compare without rewarding
    coverage."""
    problems = summary[["workload", "variant"]].drop_duplicates()
    ran = summary.groupby("optimizer")[["workload", "variant"]].apply(lambda g: len(g.drop_duplicates()))
    return sorted(o for o, n in ran.items() if n == len(problems))


def coverage_table(summary: pd.DataFrame, unavailable: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """Per optimizer: how many of the grid's problems and workloads it ran, whether it is ranked, and the
    workloads that list it but whose framework does not have it (``unavailable``: workload -> optimizers;
    "not available" there, never a failure)."""
    problems = summary[["workload", "variant"]].drop_duplicates()
    complete = set(complete_optimizers(summary))
    missing = {o: sorted(w for w, names in (unavailable or {}).items() if o in names) for o in summary["optimizer"]}
    rows = [
        {
            "optimizer": optimizer,
            "problems": len(cells[["workload", "variant"]].drop_duplicates()),
            "of_problems": len(problems),
            "workloads": cells["workload"].nunique(),
            "of_workloads": problems["workload"].nunique(),
            "ranked": optimizer in complete,
            "not_available_on": " ".join(missing.get(optimizer, [])),
        }
        for optimizer, cells in summary.groupby("optimizer", sort=True)
    ]
    columns = ["optimizer", "problems", "of_problems", "workloads", "of_workloads", "ranked", "not_available_on"]
    return pd.DataFrame(rows, columns=columns)


def rank_blocks(runs: pd.DataFrame) -> pd.DataFrame:
    """Rank of each optimizer that ran every problem (``complete_optimizers``) on each workload (1 = best): per
    (workload, variant, seed) by the primary value on the test split, a diverged run ranked worst (ties share
    their mean rank), averaged over the seeds and then over a workload's variants, so each workload is one
    block. Per seed, not by the mean over the runs that did not diverge: an optimizer that diverged on some
    seeds must not rank by its survivors alone."""
    optimizers = complete_optimizers(summary_table(runs))
    rows = []
    for (workload, variant), group in runs[runs["optimizer"].isin(optimizers)].groupby(["workload", "variant"]):
        values = group.assign(value=group["primary_value"].astype(float).where(group["status"] == "ok"))
        by_seed = values.pivot_table(index="seed", columns="optimizer", values="value", aggfunc="first", dropna=False)
        by_seed = by_seed.reindex(columns=optimizers)
        lower = group["direction"].iloc[0] == "min"
        ranks = by_seed.rank(axis=1, ascending=lower, na_option="bottom", method="average").mean()
        rows.append({"workload": workload, "variant": variant, **ranks.to_dict()})
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).groupby("workload")[optimizers].mean()


def smallest_friedman_p(blocks: int, optimizers: int) -> float:
    """The smallest p the Friedman test can give: every block ranking the optimizers alike."""
    if blocks < 1 or optimizers < 2:
        return 1.0
    return float(stats.chi2.sf(blocks * (optimizers - 1), optimizers - 1))


def ranking_table(blocks: pd.DataFrame) -> pd.DataFrame:
    """Mean rank per optimizer over the workloads, each workload's rank, and the Friedman test of "all
    optimizers rank alike" (needs 3 optimizers and 2 workloads; ``friedman_min_p`` is the smallest p this
    many blocks allow)."""
    table = blocks.T.add_prefix("rank.")
    table.insert(0, "mean_rank", blocks.mean())
    table.insert(1, "n_workloads", len(blocks))
    p = math.nan
    if blocks.shape[1] >= 3 and len(blocks) >= 2 and blocks.nunique(axis=1).gt(1).any():
        p = float(stats.friedmanchisquare(*(blocks[o] for o in blocks.columns)).pvalue)
    table.insert(2, "friedman_p", p)
    table.insert(3, "friedman_min_p", smallest_friedman_p(len(blocks), blocks.shape[1]))
    return table.sort_values("mean_rank").rename_axis("optimizer").reset_index()


def pair_outcome(result: dict) -> str:
    """wins / losses / ties of one paired comparison, by the side its verdict's test puts it on (the mean over
    complete pairs, or the divergence-aware statistic where divergence removed pairs)."""
    if result["better_by_test"] is None:
        return "ties"
    return "wins" if result["better_by_test"] else "losses"


def head_to_head(runs: pd.DataFrame) -> pd.DataFrame:
    """Every pair of optimizers on the (workload, variant) problems both ran, by the paired comparison of each
    problem (``compare``): wins, losses and ties by the verdict's test's side, how many of them are
    significant at ``ALPHA`` after the Benjamini-Hochberg adjustment over every (pair, problem) of the table
    (as comparisons.csv adjusts) with the complete pairs' mean agreeing, and a sign test over the decided
    problems. Coverage does not enter."""
    optimizers = sorted(runs["optimizer"].unique())
    pairs = [(a, b) for i, a in enumerate(optimizers) for b in optimizers[i + 1 :]]
    results = []  # (pair, compare's result) for every problem the pair shares
    for a, b in pairs:
        for _, group in runs.groupby(["workload", "variant"], sort=True):
            if {a, b} <= set(group["optimizer"]):
                direction = group["direction"].iloc[0]
                result = compare(group[group["optimizer"] == a], group[group["optimizer"] == b], direction)
                results.append(((a, b), result))
    p_adjusted = adjusted(pd.Series([result["p"] for _, result in results], dtype=float))
    tallies = {
        pair: dict.fromkeys(("problems", "wins", "losses", "ties", "significant_wins", "significant_losses"), 0)
        for pair in pairs
    }
    for (pair, result), p in zip(results, p_adjusted):
        tally, outcome = tallies[pair], pair_outcome(result)
        tally["problems"] += 1
        tally[outcome] += 1
        if outcome != "ties" and np.isfinite(p) and p < ALPHA and result["directions_agree"]:
            tally[f"significant_{outcome}"] += 1
    rows = []
    for (a, b), tally in tallies.items():
        decided = tally["wins"] + tally["losses"]
        sign_p = float(stats.binomtest(tally["wins"], decided).pvalue) if decided else math.nan
        rows.append({"optimizer": a, "against": b, **tally, "sign_test_p": sign_p})
    columns = ["optimizer", "against", "problems", "wins", "losses", "ties", "significant_wins", "significant_losses"]
    return pd.DataFrame(rows, columns=columns + ["sign_test_p"])
