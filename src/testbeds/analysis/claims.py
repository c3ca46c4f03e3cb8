"""The source projects' headline claims (config/claims.yaml) measured on the grid: per claim the paired
effect with its interval, a p-value adjusted (Holm) across the report's claims, and a verdict a reader can
take at face value, with what qualifies it (divergence, an edge of a search range, a trivial model)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from testbeds.analysis import power
from testbeds.analysis.stats import ALPHA, CONFIDENCE, DIVERGENCE_AWARE, PAIRED_T, divergence_aware_p, test_side
from testbeds.analysis.stats import CELL as ARM

ONE_SAMPLE_T = "one-sample t"


def arm_runs(runs: pd.DataFrame, arm: dict) -> pd.DataFrame:
    """The runs of one (workload, variant, optimizer)."""
    return runs[(runs[ARM] == pd.Series(arm)[ARM]).all(axis=1)]


def arms(claim: dict) -> tuple[dict, dict | None]:
    """A claim's arm and the cell it is compared with (None against a fixed ``value``)."""
    arm = {key: claim[key] for key in ARM}
    if "value" in claim["against"]:
        return arm, None
    return arm, {**arm, **claim["against"]}


def metric_column(metric: str) -> str:
    return "primary_value" if metric == "primary" else f"metric.{metric}"


def arm_values(runs: pd.DataFrame, arm: dict, metric: str) -> pd.Series:
    """The metric by seed for one (workload, variant, optimizer); NaN for a run that diverged."""
    cell = arm_runs(runs, arm)
    column = metric_column(metric)
    if column not in cell:
        return pd.Series(dtype=float)
    values = pd.to_numeric(cell[column], errors="coerce").where(cell["status"] == "ok")
    return pd.Series(values.to_numpy(), index=cell["seed"].to_numpy(), dtype=float)


def against_values(claim: dict, runs: pd.DataFrame, seeds: pd.Index) -> pd.Series:
    """What a claim's arm is compared with, by seed: the other cell's metric, or the fixed value at ``seeds``."""
    arm, other = arms(claim)
    if other is None:
        return pd.Series(float(claim["against"]["value"]), index=seeds)
    return arm_values(runs, other, claim["metric"])


def threshold(claim: dict) -> float:
    """The difference a claim must clear: 0, or its smallest effect that counts on the claimed side."""
    effect = float(claim.get("min_effect", 0.0))
    return -effect if claim["direction"] == "min" else effect


def claim_test(pairs: pd.DataFrame, shift: float, metric_direction: str) -> tuple[float, str]:
    """The p-value of "the mean difference is ``shift``": the paired t-test on the complete pairs or, where a
    pair lost a run to divergence, the signed-rank test over every pair with the diverged run ranked worst
    (the worst end of the metric, ``metric_direction``)."""
    complete = pairs.dropna()
    if len(complete) < len(pairs):
        return divergence_aware_p(pairs, metric_direction == "min", shift), DIVERGENCE_AWARE
    diff = (complete["a"] - complete["b"]).to_numpy() - shift
    if len(diff) < 2 or diff.std() == 0:
        return math.nan, PAIRED_T
    return float(stats.ttest_1samp(diff, 0.0).pvalue), PAIRED_T


def measure(claim: dict, runs: pd.DataFrame, tuning: dict, provisional: dict | None = None) -> dict:
    """One claim: the mean of arm − against over matched seeds whose runs both succeeded (or over the arm's
    runs against a fixed value), its t-interval, the relative change, the raw p of its test (the verdict
    comes after the Holm adjustment across claims, in ``claims_table``) and what qualifies it."""
    arm, compared = arms(claim)
    fixed = compared is None
    other = arm if fixed else compared
    a = arm_values(runs, arm, claim["metric"])
    b = against_values(claim, runs, a.index)
    other_label = f"{claim['against']['value']:g}" if fixed else "/".join(other[k] for k in ARM)
    matched = pd.concat({"a": a, "b": b}, axis=1, join="inner")
    pairs = matched.dropna()
    diff = (pairs["a"] - pairs["b"]).to_numpy()
    n = len(diff)
    low = high = math.nan
    if n >= 2 and diff.std() > 0:
        low, high = stats.t.interval(CONFIDENCE, n - 1, loc=diff.mean(), scale=stats.sem(diff))
    elif n >= 2:
        low = high = float(diff.mean())
    own = arm_runs(runs, arm)
    metric_direction = own["direction"].iloc[0] if len(own) and "direction" in own else "min"
    shift = threshold(claim)
    p, test = claim_test(matched, shift, metric_direction) if len(matched) else (math.nan, PAIRED_T)
    p_zero = claim_test(matched, 0.0, metric_direction)[0] if len(matched) and shift else p
    aware = test == DIVERGENCE_AWARE
    lower = metric_direction == "min"
    sides = {
        "side": test_side(matched, lower, aware, shift) if len(matched) else math.nan,
        "side_zero": test_side(matched, lower, aware) if len(matched) else math.nan,
        "pairs_side": float(np.sign(diff.mean() - shift)) if n else math.nan,
        "pairs_side_zero": float(np.sign(diff.mean())) if n else math.nan,
    }
    if fixed:
        test = ONE_SAMPLE_T
    mean_b = float(pairs["b"].mean()) if n else math.nan
    diverged = int(a.isna().sum())
    return {
        "id": claim["id"],
        "source": claim["source"],
        "statement": claim["statement"],
        "arm": "/".join(arm[k] for k in ARM),
        "against": other_label,
        "metric": claim["metric"] if claim["metric"] != "primary" else _primary(runs, arm["workload"]),
        "direction": claim["direction"],
        "min_effect": float(claim.get("min_effect", 0.0)),
        "n_pairs": n,
        "n_matched_seeds": len(matched),
        "n_pairs_removed_diverged": len(matched) - n,
        "n_arm_diverged": diverged,
        "n_runs": int(len(own)),
        "mean_arm": float(pairs["a"].mean()) if n else math.nan,
        "mean_against": mean_b,
        "difference": float(diff.mean()) if n else math.nan,
        "sd_difference": float(np.std(diff, ddof=1)) if n >= 2 else math.nan,
        "ci_low": float(low),
        "ci_high": float(high),
        "relative_change": float(diff.mean()) / abs(mean_b) if n and mean_b else math.nan,
        "claimed_size": claim.get("size", math.nan),
        "test": test,
        "p": p,
        "p_zero": p_zero,
        **sides,
        "ran": bool(len(a) and len(b)),
        "fails_fixed_value": fixed and diverged > 0,
        "trivial": trivial_note(runs, arm, other, claim, fixed),
        "attribution": attribution_note(claim, runs, float(diff.mean()) if n else math.nan),
        "provisional": provisional_note(provisional or {}, arm, None if fixed else other) if len(a) and len(b) else "",
        "tuning_budget": tuning.get(arm["workload"], {}).get("budget", 0),
        "steps": int(own["steps"].median()) if len(own) and "steps" in own else None,
    }


def attribution_note(claim: dict, runs: pd.DataFrame, difference: float) -> str:
    """The claim's comparison between the other settings its ``attribution`` lists (same workload, variant and
    metric): each one's mean difference over complete pairs and the share of the claim's difference it keeps,
    e.g. whether Kβ's advantage remains when both arms have the same ramp. Arms not run are left out."""
    parts = []
    for other in claim.get("attribution", []):
        arm = {key: claim[key] for key in ARM}
        a = arm_values(runs, {**arm, "optimizer": other["optimizer"]}, claim["metric"])
        b = arm_values(runs, {**arm, "optimizer": other["against"]}, claim["metric"])
        pairs = pd.concat({"a": a, "b": b}, axis=1, join="inner").dropna()
        if not len(pairs):
            continue
        diff = float((pairs["a"] - pairs["b"]).mean())
        share = f", {diff / difference:.0%} of the claim's" if difference and math.isfinite(difference) else ""
        parts.append(
            f"{other['label']} ({other['optimizer']} − {other['against']}): {diff:+.3g}{share}, n = {len(pairs)}"
        )
    return "; ".join(parts)


def verdict(row: dict, p_adjusted: float, p_zero_adjusted: float) -> str:
    """At the Holm-adjusted level: **supported** when the test of "the difference is the claim's threshold"
    (0, or its ``min_effect`` on the claimed side) is significant and its statistic puts the difference past
    the threshold on the claimed side; **contradicted** only when the test against zero is significant with
    the difference on the other side of zero. The side is the test's own (the divergence-aware statistic where
    divergence removed pairs), and the mean over complete pairs must agree with it, else "inconclusive:
    divergence and scores disagree". A diverged run fails a claim against a fixed value."""
    if not row["ran"]:
        return "not run in this grid"
    if row["fails_fixed_value"]:
        return f"contradicted: {row['n_arm_diverged']} of {row['n_runs']} runs diverged"
    claimed = -1.0 if row["direction"] == "min" else 1.0
    outcome = None
    if math.isfinite(p_adjusted) and p_adjusted < ALPHA and row["side"] == claimed:
        outcome, agrees = "supported", not math.isfinite(row["pairs_side"]) or row["pairs_side"] == claimed
    elif math.isfinite(p_zero_adjusted) and p_zero_adjusted < ALPHA and row["side_zero"] == -claimed:
        outcome = "contradicted"
        agrees = not math.isfinite(row["pairs_side_zero"]) or row["pairs_side_zero"] == -claimed
    if outcome is None:
        return "inconclusive at this scale" if row["n_matched_seeds"] >= 2 else f"inconclusive (n = {row['n_pairs']})"
    return outcome if agrees else "inconclusive: divergence and scores disagree"


def clears_min_effect(row: dict) -> str:
    """Whether the 95% interval lies wholly past the smallest effect that counts (claims that declare one)."""
    if not row["min_effect"] or not math.isfinite(row["ci_low"]):
        return ""
    if row["direction"] == "min":
        cleared = row["ci_high"] < -row["min_effect"]
    else:
        cleared = row["ci_low"] > row["min_effect"]
    return (
        f"interval {'clears' if cleared else 'does not clear'} the smallest effect that counts ({row['min_effect']:g})"
    )


def trivial_note(runs: pd.DataFrame, arm: dict, other: dict, claim: dict, fixed: bool) -> str:
    """Said beside the verdict when every arm's mean is worse than the metric's trivial model (a uniform
    guess, persistence): the claim then compares failures."""
    metric = claim["metric"] if claim["metric"] != "primary" else _primary_name(runs, arm["workload"])
    column = f"trivial.{metric}"
    arms = [arm] if fixed else [arm, other]
    if column not in runs:
        return ""
    means, trivial = [], math.nan
    for cell in arms:
        rows = arm_runs(runs, cell)
        trivial = pd.to_numeric(rows[column], errors="coerce").dropna()
        trivial = float(trivial.iloc[0]) if len(trivial) else math.nan
        means.append(arm_values(runs, cell, claim["metric"]).mean())
    if not math.isfinite(trivial) or not all(math.isfinite(m) for m in means):
        return ""
    lower_is_better = runs.loc[arm_runs(runs, arm).index, "direction"].iloc[0] == "min"
    worse = all(m > trivial if lower_is_better else m < trivial for m in means)
    subject = "the arm scores" if fixed else "both arms score"
    return f"{subject} worse than the trivial model ({metric} {trivial:.3g})" if worse else ""


def provisional_note(provisional: dict, arm: dict, other: dict | None) -> str:
    """Which arm was tuned at the edge of its search range: its verdict is provisional."""
    cells = {"arm": arm} if other is None or other == arm else {"arm": arm, "comparator": other}
    edges = {name: provisional.get(tuple(cell[k] for k in ARM)) for name, cell in cells.items()}
    notes = [f"{name} tuned at the edge of its range ({edge})" for name, edge in edges.items() if edge]
    return "; ".join(notes) + ": provisional" if notes else ""


def _primary_name(runs: pd.DataFrame, workload: str) -> str:
    names = runs.loc[runs["workload"] == workload, "primary_metric"].dropna()
    return names.iloc[0] if len(names) else "primary"


def _primary(runs: pd.DataFrame, workload: str) -> str:
    return f"primary ({_primary_name(runs, workload)})"


def holm(p_values: pd.Series) -> pd.Series:
    """Holm-adjusted p-values over the claims that have one (NaN stays NaN)."""
    from statsmodels.stats.multitest import multipletests

    out = pd.Series(math.nan, index=p_values.index)
    present = p_values.dropna()
    if len(present):
        out[present.index] = multipletests(present.to_numpy(), method="holm")[1]
    return out


def claims_table(
    claims: list[dict],
    runs: pd.DataFrame,
    tuning: dict,
    provisional: dict | None = None,
    sequential: dict | None = None,
) -> pd.DataFrame:
    """Every claim measured, its p adjusted (Holm) across the report's claims, and its verdict at that level;
    in a sequential design (``sequential``: the last look's results, analysis.sequential.look) each claim is
    measured on the seeds it stopped with and its verdict is its group-sequential test's."""
    stopped = (sequential or {}).get("claims", {})
    table = pd.DataFrame(
        [measure(claim, on_seeds(runs, stopped.get(claim["id"])), tuning, provisional) for claim in claims]
    )
    if table.empty:
        return table
    table["p_holm"] = holm(table["p"])
    table["p_zero_holm"] = holm(table["p_zero"])
    table["verdict"] = [
        verdict(row, p, p_zero)
        for row, p, p_zero in zip(table.to_dict("records"), table["p_holm"], table["p_zero_holm"])
    ]
    if sequential:
        table = with_looks(table, sequential)
    table["min_effect_note"] = [clears_min_effect(row) for row in table.to_dict("records")]
    return with_power(table)


def on_seeds(runs: pd.DataFrame, result: dict | None) -> pd.DataFrame:
    """The runs of the seeds a claim stopped with (every run without a sequential result)."""
    return runs if result is None else runs[runs["seed"].isin(result["seeds"])]


SEQUENTIAL_VERDICTS = {
    "supported": "supported",
    "contradicted": "contradicted",
    "inconclusive": "inconclusive at the last look",
}


def with_looks(table: pd.DataFrame, sequential: dict) -> pd.DataFrame:
    """A sequential design's columns (the look each claim stopped at, of how many, its seeds, its statistic and
    boundary) and its verdicts; a claim no look tested keeps the fixed design's ("not run in this grid")."""
    results = [sequential["claims"].get(i) for i in table["id"]]
    table["look"] = [r["look"] if r else math.nan for r in results]
    table["looks"] = len(sequential["looks"])
    table["seeds_used"] = [len(r["seeds"]) if r else math.nan for r in results]
    table["z"] = [r["z"] if r and r["z"] is not None else math.nan for r in results]
    table["bound"] = [r["bound"] if r else math.nan for r in results]
    table["sequential_alpha"] = sequential["alpha"]
    for i, r in enumerate(results):
        if r is not None:
            table.loc[i, "verdict"] = SEQUENTIAL_VERDICTS[r["status"]] + divergence_note(r)
    return table


def divergence_note(result: dict) -> str:
    """Why an undecided claim of a sequential design may have been held back: the runs that diverged."""
    if result["status"] in ("supported", "contradicted"):
        return ""
    counts = [("the arm", result["arm_diverged"]), ("the comparator", result.get("comparator_diverged", 0))]
    parts = [f"{who} diverged on {n} seed{'s' * (n != 1)}" for who, n in counts if n]
    return ": " + "; ".join(parts) if parts else ""


def with_power(table: pd.DataFrame) -> pd.DataFrame:
    """The seeds each claim needs: the smallest difference its pairs detect with 80% power at the level its
    Holm-adjusted verdict passes first (α/m over the m claims with a test), and the seeds that would detect
    its ``min_effect``, the size its source reports (relative, times the comparator's mean) and the difference
    measured (analysis.power), from the spread of its paired differences."""
    alpha = power.level(ALPHA, int(table["p"].notna().sum()))
    wanted = {
        "seeds_for_min_effect": table["min_effect"],
        "seeds_for_claimed_size": pd.to_numeric(table["claimed_size"], errors="coerce") * table["mean_against"].abs(),
        "seeds_for_difference": table["difference"],
    }
    columns = power.seeds_columns(table["sd_difference"], table["n_pairs"], wanted, alpha)
    table["power_alpha"] = alpha
    table["detectable_difference"] = columns.pop("detectable")
    return table.assign(**columns)
