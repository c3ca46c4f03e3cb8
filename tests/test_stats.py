"""Statistics of the grid against hand-computed values on small frames."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from testbeds.analysis import stats


def runs_frame(values: dict[str, list], workload="w", direction="min", status=None) -> pd.DataFrame:
    rows = []
    for optimizer, vals in values.items():
        for seed, value in enumerate(vals):
            ok = value is not None and np.isfinite(value)
            rows.append(
                {
                    "workload": workload,
                    "variant": "base",
                    "optimizer": optimizer,
                    "seed": seed,
                    "status": "ok" if ok else "diverged",
                    "primary_metric": "loss",
                    "curve_metric": "loss",
                    "direction": direction,
                    "primary_value": value if ok else math.nan,
                }
            )
    return pd.DataFrame(rows)


def test_summary_matches_hand_computation():
    runs = runs_frame({"adam": [1.0, 2.0, 3.0], "kbeta": [2.0, 2.0, None]})
    summary = stats.summary_table(runs).set_index("optimizer")
    adam = summary.loc["adam"]
    assert adam["n_ok"] == 3 and adam["n_diverged"] == 0
    assert adam["mean"] == 2.0 and adam["std"] == pytest.approx(1.0) and adam["median"] == 2.0
    half = sps.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)  # t-interval: mean ± t(0.975, n-1) s/√n
    assert (adam["ci_low"], adam["ci_high"]) == pytest.approx((2 - half, 2 + half))
    assert adam["ci_method"] == "t" and adam["best"] == 1.0 and adam["worst"] == 3.0
    kbeta = summary.loc["kbeta"]
    assert kbeta["n_runs"] == 3 and kbeta["n_ok"] == 2 and kbeta["n_diverged"] == 1
    assert kbeta["ci_method"] == "degenerate (all equal)"


def test_summary_with_one_seed_has_no_interval_and_says_so():
    summary = stats.summary_table(runs_frame({"adam": [1.5]}))
    row = summary.iloc[0]
    assert row["mean"] == 1.5 and math.isnan(row["ci_low"]) and row["ci_method"] == "none (n=1)"
    assert math.isnan(row["std"])


def test_bootstrap_interval_for_many_seeds_contains_the_mean():
    values = np.random.default_rng(0).normal(5.0, 1.0, size=12)
    low, high, method = stats.confidence_interval(values)
    assert method == "bootstrap BCa" and low < values.mean() < high
    t_low, t_high = sps.t.interval(0.95, 11, loc=values.mean(), scale=sps.sem(values))
    assert high - low == pytest.approx(t_high - t_low, rel=0.35)  # similar width to the t-interval


def test_higher_is_better_direction():
    runs = runs_frame({"a": [0.9, 0.8], "b": [0.5, 0.6]}, direction="max")
    summary = stats.summary_table(runs).set_index("optimizer")
    assert summary.loc["a", "best"] == 0.9 and summary.loc["a", "worst"] == 0.8
    comparison = stats.comparisons_table(runs, {"w": "b"}).iloc[0]
    assert comparison["win_rate"] == 1.0 and comparison["better_on_mean"]


def test_comparison_against_baseline_by_hand():
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 3.0, 4.0, 7.0]
    runs = runs_frame({"kbeta": a, "adam": b})
    row = stats.comparisons_table(runs, {"w": "adam"}).iloc[0]
    assert row["optimizer"] == "kbeta" and row["baseline"] == "adam"
    assert row["diff"] == pytest.approx(2.5 - 4.0)
    assert row["relative_change"] == pytest.approx(-1.5 / 4.0)
    welch = sps.ttest_ind(a, b, equal_var=False)
    assert row["welch_p"] == pytest.approx(welch.pvalue)
    assert row["mannwhitney_p"] == pytest.approx(sps.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    sa, sb = np.var(a, ddof=1), np.var(b, ddof=1)
    g = (2.5 - 4.0) / math.sqrt((3 * sa + 3 * sb) / 6) * (1 - 3 / (4 * 8 - 9))
    assert row["effect_size_hedges_g"] == pytest.approx(g)
    assert row["diff_ci_low"] < row["diff"] < row["diff_ci_high"]
    assert row["win_rate"] == 1.0 and row["n_matched_seeds"] == 4 and row["better_on_mean"]


def test_diverged_runs_lose_matched_comparisons():
    runs = runs_frame({"kbeta": [1.0, None, 1.1], "adam": [2.0, 2.0, 0.5]})
    row = stats.comparisons_table(runs, {"w": "adam"}).iloc[0]
    assert row["n"] == 2 and row["win_rate"] == pytest.approx(1 / 3)  # win, loss (diverged), loss


def curves_frame(times: dict[tuple[str, int], list[tuple[float, float]]], workload="w") -> pd.DataFrame:
    rows = []
    for (optimizer, seed), points in times.items():
        for step, (wall, value) in enumerate(points, start=1):
            rows.append(
                {
                    "workload": workload,
                    "variant": "base",
                    "optimizer": optimizer,
                    "seed": seed,
                    "step": step,
                    "train_seconds": wall,
                    "loss": value,
                }
            )
    return pd.DataFrame(rows)


def test_time_to_target_and_infinite_when_never_reached():
    curve = pd.DataFrame({"step": [10, 20, 30], "train_seconds": [1.0, 2.0, 3.0], "loss": [3.0, 1.5, 0.9]})
    assert stats.time_to_target(curve, "loss", 1.5, "min") == 20  # in steps by default
    assert stats.time_to_target(curve, "loss", 1.5, "min", clock="train_seconds") == 2.0
    assert stats.time_to_target(curve, "loss", 0.1, "min") == math.inf
    assert stats.time_to_target(curve, "loss", 2.0, "max") == 10


def test_performance_profile_and_score_on_a_constructed_example():
    """Two problems. On w1 A reaches the target in 10 s and B in 20 s; on w2 B never reaches it
    (infinite time) and A takes 5 s. Ratios: A = 1, 1; B = 2, inf. ρ_A(τ) = 1 for all τ: score 1.
    ρ_B(τ) = 0 for τ < 2 and 0.5 for τ >= 2: area over [1, 4] is 0.5 * 2 = 1, score 1/3."""
    runs = pd.concat(
        [runs_frame({"A": [1.0], "B": [1.0]}, workload="w1"), runs_frame({"A": [1.0], "B": [1.0]}, workload="w2")]
    )
    curves = pd.concat(
        [
            curves_frame({("A", 0): [(10.0, 0.5)], ("B", 0): [(10.0, 0.9), (20.0, 0.5)]}, workload="w1"),
            curves_frame({("A", 0): [(5.0, 0.5)], ("B", 0): [(5.0, 0.9), (30.0, 0.8)]}, workload="w2"),
        ]
    )
    profiles = stats.profiles_table(runs, curves, baselines={}, targets={"w1": 0.6, "w2": 0.6}, clock="train_seconds")
    ratios = profiles.set_index(["workload", "optimizer"])["ratio"]
    assert ratios[("w1", "A")] == 1.0 and ratios[("w1", "B")] == 2.0
    assert ratios[("w2", "A")] == 1.0 and ratios[("w2", "B")] == math.inf
    profile = stats.performance_profile(profiles, taus=np.linspace(1, 4, 3001))
    rho_b = profile[profile["optimizer"] == "B"].set_index("tau")["rho"]
    assert rho_b[rho_b.index < 1.999].max() == 0.0 and rho_b[rho_b.index >= 2.0].min() == 0.5
    scores = stats.benchmark_scores(profile).set_index("optimizer")["score"]
    assert scores["A"] == pytest.approx(1.0)
    assert scores["B"] == pytest.approx(1 / 3, abs=1e-3)


def test_profile_target_defaults_to_baseline_median_and_diverged_is_infinite():
    runs = runs_frame({"base": [1.0, 3.0], "x": [None, 1.0]})
    curves = curves_frame(
        {("base", 0): [(1.0, 1.0)], ("base", 1): [(2.0, 3.0)], ("x", 0): [(1.0, 9.0)], ("x", 1): [(4.0, 1.0)]}
    )
    profiles = stats.profiles_table(runs, curves, baselines={"w": "base"}, targets={"w": None}, clock="train_seconds")
    row = profiles.set_index("optimizer").loc["x"]
    assert row["target"] == 2.0 and row["target_source"] == "baseline median"
    assert row["n_reached"] == 1  # the diverged seed never reaches it
    assert row["time_to_target"] == 4.0  # half of the seeds (one of two) had reached it by then
    assert stats.half_reached([5.0, math.inf, math.inf]) == math.inf  # one of three is not half
